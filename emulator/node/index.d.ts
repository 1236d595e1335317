// Types of azureml-emulator (index.js). See README.md.
import type { ChildProcess, SpawnOptions } from 'node:child_process';
import type { Agent } from 'node:https';

export interface StartOptions {
  /** World file (TOML); default: the built-in default world. */
  fixtures?: string;
  /** Keep database, keys and certificates here (reused by later starts); default: a temporary dir. */
  dataDir?: string;
  /** Database in memory (TLS files in a temporary dir). */
  inMemory?: boolean;
  /** RBAC mode: `enforce` (default) denies, `log-only` allows and journals the would-be denials. */
  rbac?: 'enforce' | 'log-only';
  /** Lets non-loopback clients use /_emulator when they send it in `x-emulator-admin-key`. */
  adminKey?: string;
  /** HTTP worker threads. */
  workers?: number;
  /** Serve this certificate chain and key (PEM) instead of the generated ones. */
  cert?: string;
  key?: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (a free port). */
  port?: number;
  /** The binary; default AZUREML_EMULATOR_BIN, else `azureml-emulator` on PATH. */
  bin?: string;
  /** Default 30 000 (AZUREML_EMULATOR_READY_TIMEOUT seconds overrides). */
  readyTimeoutMs?: number;
  /** More `serve` arguments. */
  args?: string[];
}

/** The default service principal of the loaded world. */
export interface Credentials {
  readonly tenantId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly subscriptionId: string;
}

/** `GET|POST /_emulator/clock`. */
export interface ClockState {
  /** RFC 3339. */
  now: string;
  frozen: boolean;
  offset_seconds: number;
}

export interface Clock {
  show(): Promise<ClockState>;
  /** Seconds; negative moves back. */
  advance(seconds: number): Promise<ClockState>;
  freeze(): Promise<ClockState>;
  /** Back to real time: no offset, not frozen. */
  resume(): Promise<ClockState>;
  /** A Date or an RFC 3339 string. */
  set(when: Date | string): Promise<ClockState>;
}

export interface EmulatorResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

export interface EnvOptions {
  /** Start from this environment instead of process.env. */
  base?: Record<string, string | undefined>;
  /** Pass only these emulator variables (e.g. ['NODE_EXTRA_CA_CERTS']). */
  only?: string[];
  /** Set last, over everything else. */
  env?: Record<string, string>;
}

export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export declare class Emulator {
  /** `https://127.0.0.1:PORT`, no trailing slash. */
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  /** The whole ready file. */
  readonly ready: Record<string, any>;
  /** What `azureml-emulator env` prints: CA variables, AZURE_AUTHORITY_HOST, AZURE_CLIENT_ID, ... */
  readonly env: Record<string, string>;
  /** System CAs plus the emulator CA (PEM file). */
  readonly caBundle: string;
  /** The emulator CA alone (PEM file): NODE_EXTRA_CA_CERTS. */
  readonly caCert: string;
  readonly dataDir: string;
  /** The temporary dir with the ready file and the server's logs; null for an attached emulator. */
  readonly workdir: string | null;
  readonly tenantId: string;
  readonly tenantDomain: string;
  readonly subscriptionId: string;
  readonly credentials: Credentials;
  /** `{ca}` with the system CAs and the emulator CA: the `tlsOptions` of Azure SDK clients (@azure/identity...). */
  readonly tlsOptions: { readonly ca: string[] };
  readonly clock: Clock;
  /** An https.Agent trusting the system CAs and the emulator CA. */
  httpsAgent(): Agent;
  request(
    method: string,
    path: string,
    options?: { json?: unknown; form?: Record<string, string>; headers?: Record<string, string>; timeoutMs?: number },
  ): Promise<EmulatorResponse>;
  /** `/_emulator{path}`; rejects with EmulatorError on a non-2xx answer. */
  api(method: string, path: string, body?: unknown): Promise<any>;
  /** Back to the world loaded at start; `clock: true` (default) also returns the clock to real time. */
  reset(options?: { clock?: boolean }): Promise<void>;
  childEnv(options?: EnvOptions): Record<string, string>;
  /** Sets the emulator's variables (process.env by default); returns a function that restores them. */
  applyEnv(target?: Record<string, string | undefined>): () => void;
  spawnWithEnv(command: string, args?: string[], options?: SpawnOptions & EnvOptions): ChildProcess;
  /** Runs a script file, or `{code}` (CommonJS; `module: true` for ESM), in a fresh node with the emulator's env. */
  execNode(
    script: string | { code: string; module?: boolean },
    options?: EnvOptions & { args?: string[]; nodeArgs?: string[]; timeoutMs?: number; cwd?: string },
  ): Promise<ExecResult>;
  stderr(): string;
  stdout(): string;
  /** SIGTERM (SIGKILL after timeoutMs); removes the temporary dir. Not for attached emulators. */
  stop(options?: { timeoutMs?: number }): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export declare class EmulatorError extends Error {}

/** Outer variables removed from children's environments and by applyEnv. */
export declare const CONFLICTING_ENV_VARS: readonly string[];

export declare function startEmulator(options?: StartOptions): Promise<Emulator>;
/** An emulator started elsewhere, from its ready file (default: AZUREML_EMULATOR_READY_FILE). */
export declare function attachEmulator(options?: { readyFile?: string }): Emulator;
export declare function envFor(emulatorEnv: Record<string, string>, options?: EnvOptions): Record<string, string>;
export declare function findBinary(bin?: string): string;
