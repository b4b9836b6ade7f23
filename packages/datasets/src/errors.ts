/** Thrown for bad dataset input (unknown op, bad modulus or split, missing or corrupt files). */
export class DatasetError extends Error {
  override name = 'DatasetError';
}
