//! The standards shipped with the binary (`data/standards`), embedded at compile time. Adding a
//! standard is adding its folder there and its files to this list, or loading it from a directory
//! (`fitforall score --standards-dir`): data, not code.

/// `(file name, text)` pairs in the layout `StandardSet::load` reads.
pub const FILES: [(&str, &str); 10] = [
    ("data/standards/grades.csv", include_str!("../../../../data/standards/grades.csv")),
    ("data/standards/cnsphs-2014/standard.csv", include_str!("../../../../data/standards/cnsphs-2014/standard.csv")),
    ("data/standards/cnsphs-2014/items.csv", include_str!("../../../../data/standards/cnsphs-2014/items.csv")),
    ("data/standards/cnsphs-2014/bmi.csv", include_str!("../../../../data/standards/cnsphs-2014/bmi.csv")),
    ("data/standards/cnsphs-2014/weights.csv", include_str!("../../../../data/standards/cnsphs-2014/weights.csv")),
    ("data/standards/cnsphs-2014/bonus.csv", include_str!("../../../../data/standards/cnsphs-2014/bonus.csv")),
    ("data/standards/cnpfms-2003-adult/standard.csv", include_str!("../../../../data/standards/cnpfms-2003-adult/standard.csv")),
    ("data/standards/cnpfms-2003-adult/items.csv", include_str!("../../../../data/standards/cnpfms-2003-adult/items.csv")),
    ("data/standards/cnpfms-2003-adult/height_weight.csv", include_str!("../../../../data/standards/cnpfms-2003-adult/height_weight.csv")),
    ("data/standards/README.md", include_str!("../../../../data/standards/README.md")),
];

/// The shipped standards, loaded. They are validated by the tests, so this does not fail in a
/// released binary; the `Result` still carries any problem rather than panicking.
pub fn load() -> Result<super::StandardSet, Vec<super::StandardLoadError>> {
    super::StandardSet::load(&FILES)
}
