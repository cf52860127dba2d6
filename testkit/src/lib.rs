pub mod child;
pub mod controlplane;
pub mod kubelet;
pub mod realnode;
pub mod standin;
pub mod zkensemble;
mod zkensemble_reconfig;
