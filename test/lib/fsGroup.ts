/**
 * What the kubelet does to a volume for a pod with securityContext.fsGroup, for volume types whose
 * ownership it manages (emptyDir, configMap/secret, `local` PVs, CSI drivers such as EBS's): a copy,
 * for tests on real servers, of k8s.io/kubernetes pkg/volume/volume_linux.go (v1.33). Never used by
 * the deployment itself; the real-node check shows the kubelet doing it.
 */
import * as fs from "fs";
import * as path from "path";

const RW = 0o660;
const EXEC = 0o110;
const SETGID = 0o2000;

/**
 * fsGroupChangePolicy OnRootMismatch: the walk runs unless the volume's root already has group
 * `gid`, g+rwx and setgid (volume_linux.go requiresPermissionChange).
 */
export function needsOwnershipChange(root: string, gid: number): boolean {
  const st = fs.statSync(root);
  if (st.gid !== gid || !st.isDirectory()) return true;
  if ((st.mode & (RW | EXEC)) !== (RW | EXEC)) return true;
  return (st.mode & SETGID) === 0;
}

/**
 * The walk: every file and directory (symlinks skipped) gets group `gid`, keeps its owner, and gains
 * rw for owner and group; directories also gain x for owner and group, and setgid so that what is
 * created later inherits the group (changeFilePermission).
 */
export function changeOwnership(root: string, gid: number): void {
  const visit = (p: string): void => {
    const st = fs.lstatSync(p);
    if (st.isSymbolicLink()) return;
    fs.lchownSync(p, -1, gid);
    const perm = st.mode & 0o7777;
    fs.chmodSync(p, st.isDirectory() ? perm | RW | EXEC | SETGID : perm | RW);
    if (st.isDirectory()) for (const e of fs.readdirSync(p)) visit(path.join(p, e));
  };
  visit(root);
}

/** The kubelet's step before a pod's containers start: the walk only when the root does not match. */
export function applyFsGroup(root: string, gid: number): boolean {
  if (!needsOwnershipChange(root, gid)) return false;
  changeOwnership(root, gid);
  return true;
}
