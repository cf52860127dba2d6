pub fn placeholder() {}
pub mod zkensemble;
