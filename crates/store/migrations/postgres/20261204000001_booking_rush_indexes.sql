-- The rush engine's batch transaction expires the due holds of its own slots first: find them by
-- slot among the (few) held bookings instead of walking every booking of the slot.
CREATE INDEX bookings_held_slot ON bookings (slot_id) WHERE status = 'held';
