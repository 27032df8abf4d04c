-- Check-in and no-shows (DESIGN §5): the background job finds the slots whose check-in has closed by
-- their start, then their confirmed bookings through `bookings_slot`. An index on the slots' start
-- rather than on the bookings: slots are written when generated, bookings by every booking of a rush.
CREATE INDEX slots_start ON slots (starts_at);
