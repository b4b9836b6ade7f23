import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** Temp files written by this package end with this suffix (`.<name>.<pid>.<random>.tmp`). */
const TEMP_RE = /^\..+\.\d+\.[0-9a-f]{8}\.tmp$/;

/**
 * Writes a file atomically: a temp file in the same folder, fsync, rename. On failure the temp file
 * is removed and the previous content of `file` (if any) is untouched.
 */
export function writeFileAtomic(file: string, content: string | Uint8Array): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomUUID().slice(0, 8)}.tmp`);
  try {
    const fd = fs.openSync(tmp, 'wx');
    try {
      fs.writeSync(fd, typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * Removes the temp files an interrupted write left in `dir` and its sub-folders (only files named
 * like this package's temp files). Call it only while holding the folder's lock: then no live
 * writer owns them. Returns the removed paths.
 */
export function removeTempFiles(dir: string): string[] {
  const removed: string[] = [];
  const walk = (d: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (TEMP_RE.test(e.name)) {
        fs.rmSync(p, { force: true });
        removed.push(p);
      }
    }
  };
  walk(dir);
  return removed;
}
