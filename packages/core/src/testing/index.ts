/**
 * `@masked-ops/core/testing`: the conformance cases every backend runs for every op of the table,
 * the one comparison with the float64 references, and framework-agnostic suites to register them.
 */

// Importing the testing entry also registers the ops' gradients, which its suite exercises.
import '../index.js';

export {
  type BagCase,
  bagBatch,
  bagCases,
  bagReferenceInput,
  outOfRangeBagCase,
} from './bag_cases.js';
export { type BagErrorCase, bagErrorCases, bagValueErrorCases } from './bag_errors.js';
export { type BagSuiteOptions, checkBagCase, defineEmbeddingBagSuite } from './bag_suite.js';
export {
  caseGradReference,
  caseGradScales,
  caseReference,
  normaliseAxis,
  type ReferenceInputs,
} from './case_reference.js';
export {
  type ConformanceCase,
  conformanceCases,
  type MaskDtype,
  outputSize,
} from './cases.js';
export { type ErrorCase, errorCases, type RawErrorCase, rawErrorCases } from './errors.js';
export { randomFloats, randomMask, seededRandom } from './random.js';
export { defineRegistrationSuite } from './registration.js';
export { type SoftmaxCase, softmaxCases } from './softmax_cases.js';
export { type SoftmaxErrorCase, softmaxErrorCases } from './softmax_errors.js';
export {
  checkSoftmaxCase,
  defineSoftmaxSuite,
  SOFTMAX_OPS,
  type SoftmaxSuiteOptions,
} from './softmax_suite.js';
export {
  type ConformanceOptions,
  checkCase,
  checkSecondOrder,
  defineConformanceSuite,
  makeTensor,
  OPS,
  runOp,
  type TestApi,
} from './suite.js';
export {
  allowedError,
  compareValues,
  compareWithReference,
  type Expected,
  mismatch,
  type Precision,
  TOLERANCE_FACTOR,
} from './tolerance.js';
