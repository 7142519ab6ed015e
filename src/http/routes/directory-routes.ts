/**
 * Discovery: the TD listing (WoT Discovery §7.3.2.1.5, a JSON array), one TD per Thing, the
 * node's own TD at /.well-known/wot (WoT Discovery §6.2), and the health probe.
 */
import type { FastifyInstance } from 'fastify';
import type { HttpContext } from '../http-context.js';

const TD_TYPE = 'application/td+json';

/** Registers GET /things, GET|HEAD /things/:thing, GET /things/:thing/validation, GET /.well-known/wot and GET /health. */
export function directoryRoutes(app: FastifyInstance, ctx: HttpContext): void {
  const started = ctx.clock.now();

  app.get('/things', async (request, reply) =>
    reply.type('application/ld+json').send(ctx.descriptions.all(ctx.descriptions.baseFor(request))),
  );

  app.get<{ Params: { thing: string } }>('/things/:thing', async (request, reply) => {
    const thing = ctx.registry.get(request.params.thing);
    return reply.type(TD_TYPE).send(ctx.descriptions.thing(thing, ctx.descriptions.baseFor(request)));
  });

  // Whether the TD as served to this client validates against the W3C TD 1.1 JSON Schema.
  const validator = ctx.validator;
  if (validator) {
    app.get<{ Params: { thing: string } }>('/things/:thing/validation', async (request) => {
      const thing = ctx.registry.get(request.params.thing);
      const fault = validator.explain(ctx.descriptions.describe(thing, ctx.descriptions.baseFor(request)));
      return { valid: fault === undefined, schema: 'W3C WoT TD 1.1 JSON Schema', ...fault };
    });
  }

  app.get('/.well-known/wot', async (request, reply) => reply.type(TD_TYPE).send(ctx.descriptions.node(ctx.descriptions.baseFor(request))));

  app.get('/health', async () => ({
    status: 'ok',
    things: ctx.registry.list().length,
    uptimeSeconds: Math.round((ctx.clock.now() - started) / 1000),
  }));
}
