// The pause program every pod sandbox runs (the real node's containerd sandbox_image), built here
// because no registry serves registry.k8s.io/pause on this machine. Standard library only.
module stagecraft.local/toolchain/pause

go 1.24.0
