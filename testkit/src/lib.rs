pub mod child;
pub mod controlplane;
pub mod kubelet;
pub mod standin;
pub mod zkensemble;
mod zkensemble_reconfig;
