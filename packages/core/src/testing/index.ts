/**
 * `@masked-ops/core/testing`: the conformance cases every backend runs, the float64 oracle's
 * tolerance, and a framework-agnostic suite to register them.
 */

// Importing the testing entry also registers the op's gradient, which its suite exercises.
import '../index.js';

export {
  type ConformanceCase,
  conformanceCases,
  type MaskDtype,
  outputSize,
} from './cases.js';
export { type ErrorCase, errorCases } from './errors.js';
export { randomFloats, randomMask, seededRandom } from './random.js';
export { defineRegistrationSuite } from './registration.js';
export {
  type ConformanceOptions,
  checkCase,
  checkSecondOrder,
  defineConformanceSuite,
  type TestApi,
} from './suite.js';
export { allowedError, mismatch, type Precision, TOLERANCE_FACTOR } from './tolerance.js';
