pub mod controlplane;
pub fn placeholder() {}
pub mod zkensemble;
