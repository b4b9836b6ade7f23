/**
 * @grokking-tickets/run-store — the run folder format and everything that keeps it sound: atomic
 * writes, an exclusive lock per folder with stale-lock recovery, config hashes (a run's identity),
 * strict metrics parsing that names the damaged line, and safetensors checkpoints verified by
 * checksum, config hash, dtype, shape and finiteness. No tensor library: plain typed arrays.
 */
export { CorruptRunError, LockedError, RunFolderError } from './errors.js';
export { removeTempFiles, writeFileAtomic } from './atomic.js';
export { canonicalJson, configHash } from './hash.js';
export { LOCK_FILE, REMOTE_STALE_MS, acquireLock, lockHolder, type FolderLock, type LockHolder } from './lock.js';
export { parseMetrics, readMetricsFile, type MetricsFile, type StoredRow } from './metrics.js';
export {
  RunStore,
  type CheckpointExpectation,
  type Float32Arrays,
  type LoadedWeights,
  type ResumeMeta,
  type RunRecord,
  type StoredOptimizerState,
} from './runStore.js';
export {
  CheckpointError,
  MAX_HEADER_BYTES,
  SafetensorsError,
  decodeSafetensors,
  encodeSafetensors,
  firstNonFinite,
  loadCheckpoint,
  saveCheckpoint,
  sidecarPath,
  tensorsChecksum,
  type Checkpoint,
  type CheckpointSidecar,
  type DecodedSafetensors,
  type LoadedCheckpoint,
  type SafetensorsDType,
  type StoredTensor,
  type TensorData,
} from './checkpoint.js';
