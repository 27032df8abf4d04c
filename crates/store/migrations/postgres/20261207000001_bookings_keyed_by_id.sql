-- On SQLite this migration keys the bookings table by the booking id alone (the rowid), which saves
-- two B-tree writes per booking. PostgreSQL keeps (province_code, id) as the primary key (the
-- distribution key) and `bookings_id` for lookups by id: nothing changes here. The file exists so
-- that both migration folders keep the same names.
SELECT 1;
