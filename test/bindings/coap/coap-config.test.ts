/** --coap-port: its default, `off`, 0, and what it refuses; a node with CoAP off offers no CoAP form. */
import t from 'tap';
import { DEFAULTS, parseCommandLine, type ConfigSources } from '../../../src/config.js';
import type { ThingDescription } from '../../../src/td/thing-description.js';
import { createServient } from '../../helpers/test-servient.js';

const sources = (argv: string[], env: Record<string, string> = {}): ConfigSources => ({
  argv,
  env,
  defaultThings: '/bundled/things',
  readFile: (path) => {
    throw new Error(`ENOENT: ${path}`);
  },
});

t.test('--coap-port defaults to 5683 and takes a port, 0 or off', async (t) => {
  t.equal(DEFAULTS.coapPort, 5683);
  t.equal(parseCommandLine(sources(['start'])).config.coapPort, 5683);
  t.equal(parseCommandLine(sources(['start', '--coap-port', '5684'])).config.coapPort, 5684);
  t.equal(parseCommandLine(sources(['start', '--coap-port', '0'])).config.coapPort, 0);
  t.equal(parseCommandLine(sources(['start', '--coap-port', 'off'])).config.coapPort, 'off');
  t.equal(parseCommandLine(sources(['start'], { FLOWCHAIN_COAP_PORT: 'off' })).config.coapPort, 'off');
  t.throws(() => parseCommandLine(sources(['start', '--coap-port', '70000'])), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID' });
  t.throws(() => parseCommandLine(sources(['start', '--coap-port', 'of'])), { code: 'FLOWCHAIN_ERR_CONFIG_INVALID' });
});

t.test('with CoAP off the TDs have no CoAP form and no cov prefix', async (t) => {
  const { servient } = await createServient(t, { coapPort: 'off' });
  const { url } = await servient.start();
  const td = (await (await fetch(`${url}things/smart-plug`)).json()) as ThingDescription;
  t.notOk(JSON.stringify(td).includes('coap:'));
  t.notOk(JSON.stringify(td['@context']).includes('coap-binding'));
});
