// The whole conformance kit on tfjs's webgpu backend (SwiftShader adapter in headless Chromium):
// every op of core's table, forward, gradient and double backprop, against the float64
// references, on the fused path; and the registration contract. tfjs-layers registers tfjs's
// built-in gradients (as an app using @tensorflow/tfjs has them), which double backprop needs.
import '@tensorflow/tfjs-backend-webgpu';
import '@tensorflow/tfjs-layers';
import '../src/index.js';
import { defineConformanceSuite, defineRegistrationSuite } from '@masked-ops/core/testing';
import { describe, it } from 'vitest';
import { webgpuKernelConfigs } from '../src/index.js';
import { useWebGPU } from './helpers.js';

useWebGPU();

defineRegistrationSuite({ describe, it }, 'webgpu', webgpuKernelConfigs);
defineConformanceSuite(
  { describe, it },
  { path: 'fused', precision: 'float32', timeout: 120_000, secondOrder: true },
);
