//! Demo data set (owned by the demo-data helper; see its brief).
