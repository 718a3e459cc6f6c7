import { ValidationError } from '../../common/parse';

/** The ValidationError a call throws (fails the test if it does not throw one). */
export function rejection(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ValidationError) return e;
    throw e;
  }
  throw new Error('expected a ValidationError');
}
