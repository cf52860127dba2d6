pub mod controlplane;
pub mod kubelet;
pub fn placeholder() {}
pub mod zkensemble;
