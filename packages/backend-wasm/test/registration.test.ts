import '@tensorflow/tfjs-backend-wasm';
import { defineRegistrationSuite } from '@masked-ops/core/testing';
import { setBackend } from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { wasmKernelConfigs } from '../src/index.js';

beforeAll(async () => {
  expect(await setBackend('wasm')).toBe(true);
});

defineRegistrationSuite({ describe, it }, 'wasm', wasmKernelConfigs);
