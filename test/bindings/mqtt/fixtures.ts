/** A Thing of the MQTT binding's tests, and a node serving it over MQTT. */
import type { Test } from 'tap';
import type { Clock } from '../../../src/common/clock.js';
import type { Config } from '../../../src/config.js';
import { Servient } from '../../../src/servient.js';
import type { ThingDescription, ThingFragment } from '../../../src/td/thing-description.js';
import type { ExposedThing } from '../../../src/thing/exposed-thing.js';
import { testConfig } from '../../helpers/test-servient.js';

/** A lamp: an observable, writable level; a synchronous action; an event. */
export const LAMP: ThingFragment = {
  title: 'Lamp',
  properties: {
    level: { type: 'integer', minimum: 0, maximum: 100, observable: true },
    label: { type: 'string', observable: true, readOnly: true },
  },
  actions: { blink: { input: { type: 'integer', minimum: 1, maximum: 10 }, output: { type: 'string' } } },
  events: { rang: { data: { type: 'string' } } },
};

/** A log that keeps what was said. */
export function memoryLog(): { lines: { level: string; obj: object; msg: string | undefined }[]; info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void; error(obj: object, msg?: string): void; debug(): void; trace(): void; fatal(): void; child(): unknown } {
  const lines: { level: string; obj: object; msg: string | undefined }[] = [];
  const log = {
    lines,
    info: (obj: object, msg?: string) => void lines.push({ level: 'info', obj, msg }),
    warn: (obj: object, msg?: string) => void lines.push({ level: 'warn', obj, msg }),
    error: (obj: object, msg?: string) => void lines.push({ level: 'error', obj, msg }),
    debug: () => undefined,
    trace: () => undefined,
    fatal: () => undefined,
    child: () => log,
  };
  return log;
}

/** A node (not started) with the lamp exposed, MQTT as `config` says; stopped at teardown. */
export async function lampNode(t: Test, config: Partial<Config>, components: { authToken?: string; log?: ReturnType<typeof memoryLog>; clock?: Clock } = {}): Promise<{ servient: Servient; lamp: ExposedThing }> {
  const servient = await Servient.create(testConfig(t, config), { ...(components.authToken ? { authToken: components.authToken } : {}), ...(components.log ? { logger: components.log as never } : {}), ...(components.clock ? { clock: components.clock } : {}) });
  t.teardown(() => servient.stop());
  const lamp = await servient.produce(LAMP);
  lamp.setPropertyReadHandler('label', () => 'desk lamp');
  lamp.setActionHandler('blink', async (params) => `blinked ${String(await params.value())} times`);
  await lamp.expose();
  await lamp.writeProperty('level', 10);
  return { servient, lamp };
}

/** The lamp's TD as the (started) node serves it to `host` (by default, the host it listens on). */
export async function servedTd(servient: Servient, host?: string): Promise<ThingDescription> {
  return (await servient.app.inject({ url: '/things/lamp', headers: { host: host ?? new URL(servient.url!).host } })).json() as ThingDescription;
}

/** Resolves with whether `check` came to hold, looking every 10 ms for at most `ms` (a state another process changes). */
export async function until(check: () => boolean | Promise<boolean>, ms = 5_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((resolve) => setTimeout(resolve, 10))) {
    if (await check()) return true;
  }
  return check();
}
