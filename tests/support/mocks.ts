/**
 * Pulumi mocks that record every resource the program registers: its type, name, URN, parent,
 * inputs and dependencies. Deterministic, so two runs of the program can be compared.
 */
import { createHash } from 'node:crypto';
import * as pulumi from '@pulumi/pulumi';
import { openEnvelope } from '../../components/providers/envelope';

export interface Registered {
  type: string;
  name: string;
  urn: string;
  parent: string;
  /** Inputs with secrets unwrapped. */
  inputs: Record<string, unknown>;
  /** Top-level input keys that arrived as secrets. */
  secretInputs: string[];
  dependencies: string[];
  custom: boolean;
}

/** A fixed CA for the namespace Secret PGO would create (`pgo-root-cacert`). */
export const MOCK_CA_PEM = '-----BEGIN CERTIFICATE-----\nMOCK-PGO-ROOT-CA\n-----END CERTIFICATE-----\n';

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getCustom(): boolean;
  getDependenciesList(): string[];
}

interface Monitor {
  registerResource(req: RegisterRequest, callback: (err: unknown, res: unknown) => void): void;
}

/** The engine's marker for a secret value in serialized properties. */
const SECRET_SIG = '4dabf18193072939515e22adb298388d';

function isSecretValue(value: unknown): value is { value: unknown } {
  return typeof value === 'object' && value !== null && SECRET_SIG in value;
}

function unwrap(value: unknown): unknown {
  if (isSecretValue(value)) return unwrap(value.value);
  if (Array.isArray(value)) return value.map(unwrap);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrap(v)]));
  }
  return value;
}

/** The `result` the mocks give the RandomPassword named `name`. */
export function mockPassword(name: string): string {
  return `mock-secret-${createHash('sha256').update(name).digest('hex').slice(0, 24)}`;
}

function mockState(args: pulumi.runtime.MockResourceArgs): Record<string, unknown> {
  const digest = createHash('sha256').update(args.name).digest();
  switch (args.type) {
    case 'random:index/randomPassword:RandomPassword':
      return { ...args.inputs, result: mockPassword(args.name) };
    case 'random:index/randomBytes:RandomBytes':
      return { ...args.inputs, base64: digest.subarray(0, 16).toString('base64') };
    case 'kubernetes:core/v1:Secret':
      return { data: { 'root.crt': Buffer.from(MOCK_CA_PEM).toString('base64') } };
    default:
      return { ...args.inputs };
  }
}

/**
 * Install mocks and return the list they fill. Dependencies are read off the real register
 * requests, so `dependsOn` is asserted as the engine would see it.
 */
export function installMocks(stack = 'dev'): Registered[] {
  const registered: Registered[] = [];
  const pending = new Map<string, { dependencies: string[]; parent: string; custom: boolean }>();
  pulumi.runtime.setMocks(
    {
      newResource(args) {
        // What the engine records: a dynamic resource's inputs as its provider's check returns them.
        const raw = openEnvelope(args.inputs as Record<string, unknown>);
        const id = args.id !== undefined && args.id !== '' ? args.id : `${args.name}-id`;
        const extra = pending.get(`${args.type}::${args.name}`);
        registered.push({
          type: args.type,
          name: args.name,
          urn: '',
          parent: extra?.parent ?? '',
          inputs: unwrap(raw) as Record<string, unknown>,
          secretInputs: Object.entries(raw)
            .filter(([, v]) => isSecretValue(v))
            .map(([k]) => k),
          dependencies: extra?.dependencies ?? [],
          custom: args.custom ?? true,
        });
        return { id, state: mockState({ ...args, inputs: unwrap(raw) as Record<string, unknown> }) };
      },
      call(args) {
        return args.inputs;
      },
    },
    'pg-federation',
    stack,
    false,
  );
  const monitor = pulumi.runtime.getMonitor() as unknown as Monitor;
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) => {
    pending.set(`${req.getType()}::${req.getName()}`, {
      dependencies: req.getDependenciesList(),
      parent: req.getParent(),
      custom: req.getCustom(),
    });
    register(req, (err, res) => {
      const entry = [...registered]
        .reverse()
        .find((r) => r.type === req.getType() && r.name === req.getName());
      if (entry !== undefined && res !== undefined && res !== null) {
        entry.urn = (res as { getUrn(): string }).getUrn();
      }
      callback(err, res);
    });
  };
  return registered;
}

/** The value of an output, for tests. */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

/** Wait until every given resource is registered (its URN is known). */
export async function registered(resources: pulumi.Resource[]): Promise<void> {
  await Promise.all(resources.map((r) => valueOf(r.urn)));
}
