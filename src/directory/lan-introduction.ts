/**
 * Introduction on a LAN (W3C WoT Discovery §6.3, DNS-Based Service Discovery over mDNS,
 * RFC 6762/6763): a node announces itself as a `_wot._tcp` service of subtype `_directory`
 * (it is a Thing Description Directory), with the TXT keys the spec defines (`td`: the path of
 * its TD, `type`: `Directory`, `scheme`: `http` or `https`) and one of Flowchain's own, `ring`:
 * the fingerprint of its ring authority's certificate. A node started with `--discover` looks
 * for such a service of its own ring, and joins through it.
 *
 * Anyone on a LAN can answer mDNS: an announcement is only a hint where to dial. Joining still
 * takes the mutual-TLS membership handshake, so a forged announcement costs a failed dial, not
 * a foreign ring.
 */
import { Bonjour, type Service } from 'bonjour-service';
import type { Clock } from '../common/clock.js';

/** What this node announces. */
export interface Announcement {
  /** The DNS-SD instance name: unique on the LAN (this node's ring id, shortened). */
  readonly name: string;
  /** The HTTP port. */
  readonly port: number;
  readonly scheme: 'http' | 'https';
  /** The ring authority's certificate fingerprint (SHA-256, hex). */
  readonly ring: string;
}

/** A service some node on the LAN announced, as DNS-SD resolved it. */
export interface Announced {
  readonly name: string;
  readonly port: number;
  /** Where the announcement came from. */
  readonly address: string | undefined;
  readonly txt: Readonly<Record<string, unknown>>;
}

/** The mDNS side: publish one service, watch for others. The real one is {@link bonjourMdns}. */
export interface Mdns {
  publish(announcement: Announcement, txt: Readonly<Record<string, string>>): void;
  /** Calls `onUp` with each `_directory._sub._wot._tcp` service seen; returns how to stop. */
  browse(onUp: (service: Announced) => void): () => void;
  close(): Promise<void>;
}

/** The TXT record of an announcement (WoT Discovery §6.3, plus `ring`). */
export function txtOf(announcement: Announcement): Record<string, string> {
  return { td: '/.well-known/wot', type: 'Directory', scheme: announcement.scheme, ring: announcement.ring };
}

/**
 * The URL to join through, if `service` is a Flowchain directory of the ring `ring` other
 * than `self`; undefined otherwise (another ring, another kind of service, this node itself,
 * a scheme or address that makes no URL).
 */
export function joinUrlOf(service: Announced, ring: string, self: string): string | undefined {
  const { txt } = service;
  if (service.name === self || txt.ring !== ring || txt.type !== 'Directory' || service.address === undefined) return undefined;
  const scheme = txt.scheme ?? 'http';
  if (scheme !== 'http' && scheme !== 'https') return undefined;
  if (!Number.isInteger(service.port) || service.port < 1 || service.port > 65535) return undefined;
  const host = service.address.includes(':') ? `[${service.address}]` : service.address;
  return `${scheme}://${host}:${service.port}/`;
}

/** Announces this node and finds members of its ring on the LAN. */
export class LanIntroduction {
  readonly #mdns: Mdns;
  readonly #ring: string;
  readonly #name: string;

  constructor(mdns: Mdns, identity: { readonly ring: string; readonly name: string }) {
    this.#mdns = mdns;
    this.#ring = identity.ring;
    this.#name = identity.name;
  }

  /**
   * The first member of this node's ring that announces itself within `waitMs` (a URL to
   * join through), or undefined when none does.
   */
  find(waitMs: number, clock: Pick<Clock, 'after'>): Promise<string | undefined> {
    return new Promise((resolve) => {
      let stop = (): void => undefined;
      const done = (url: string | undefined): void => {
        timer.cancel();
        stop();
        resolve(url);
      };
      const timer = clock.after(waitMs, () => done(undefined));
      stop = this.#mdns.browse((service) => {
        const url = joinUrlOf(service, this.#ring, this.#name);
        if (url !== undefined) done(url);
      });
    });
  }

  /** Announces this node (its HTTP port, scheme and ring) until {@link close}. */
  announce(port: number, scheme: 'http' | 'https'): void {
    const announcement = { name: this.#name, port, scheme, ring: this.#ring };
    this.#mdns.publish(announcement, txtOf(announcement));
  }

  /** Withdraws the announcement (a goodbye packet) and closes the mDNS socket. */
  close(): Promise<void> {
    return this.#mdns.close();
  }
}

/** mDNS through bonjour-service (multicast-dns on UDP 5353). */
export function bonjourMdns(): Mdns {
  const bonjour = new Bonjour();
  let browsing: { stop(): void } | undefined;
  return {
    publish: (announcement, txt) => {
      // The host name is the node's own: nodes that share a machine name (containers,
      // namespaces) must not answer for each other's addresses.
      bonjour.publish({ name: announcement.name, host: `${announcement.name}.local`, type: 'wot', protocol: 'tcp', port: announcement.port, subtypes: ['directory'], txt });
    },
    browse: (onUp) => {
      const browser = bonjour.find({ type: 'wot', protocol: 'tcp', subtypes: ['directory'] }, (service: Service) =>
        onUp({ name: service.name, port: service.port, address: service.referer?.address ?? service.addresses?.[0], txt: (service.txt ?? {}) as Record<string, unknown> }),
      );
      browsing = browser;
      return () => browser.stop();
    },
    close: () =>
      new Promise<void>((resolve) => {
        browsing?.stop();
        bonjour.unpublishAll(() => bonjour.destroy(() => resolve()));
      }),
  };
}
