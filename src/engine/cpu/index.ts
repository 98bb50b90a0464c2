export { createCpuBackend, CpuBackend, type CpuBackendOptions } from './backend.ts';
