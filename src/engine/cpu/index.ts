export { createCpuBackend, type CpuBackendOptions } from './backend.ts';
