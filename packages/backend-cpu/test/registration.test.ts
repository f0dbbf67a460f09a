import '@tensorflow/tfjs-backend-cpu';
import { defineRegistrationSuite } from '@masked-ops/core/testing';
import { setBackend } from '@tensorflow/tfjs-core';
import { beforeAll, describe, it } from 'vitest';
import { cpuKernelConfigs } from '../src/index.js';

beforeAll(async () => {
  await setBackend('cpu');
});

defineRegistrationSuite({ describe, it }, 'cpu', cpuKernelConfigs);
