// The Nexmark event generator (Tucker et al., "NEXMark: a benchmark for queries over data
// streams"), following the generator Flink's and Beam's Nexmark suites share: nexmark/nexmark v0.2.0
// `nexmark-flink/.../generator/model/{Person,Auction,Bid}Generator.java` and Beam's
// `sdks/java/testing/nexmark/.../sources/generator`. What it keeps of theirs:
//
// - Event kinds by event number, in proportions 1 person : 3 auctions : 46 bids out of every 50.
// - Ids: people and auctions numbered from 1000 as they are created; a bid names a person among
//   the last 1,000 active (plus a lead of 10 not yet created) and an auction among the last 100
//   in flight (plus a lead of 10), except hot ones: half of the bids go to the first auction of the
//   latest batch of 100 (hotAuctionRatio 2), three quarters are by the second person of the latest
//   batch of 100 (hotBiddersRatio 4), as are three quarters of the sellers (hotSellersRatio 4).
// - Prices 10^(6u) * 100 cents, rounded; channels: 99 in 100 one of four hot ones, else one of
//   10,000; `extra` pads each event to its average size (bids 100 bytes, auctions 500, people 200).
// - Event time: event n at baseTime + n / rate (the suite's `tps`, first event rate), in order
//   (outOfOrderGroupSize 1).
//
// Random numbers come from a seeded mulberry32 rather than java.util.Random, so the values differ
// from Flink's run for run; their distributions are the same.

import { seededRandom } from '@sluice/shared/streams/samples/ecommerce';

export const PERSON_PROPORTION = 1;
export const AUCTION_PROPORTION = 3;
export const BID_PROPORTION = 46;
const TOTAL_PROPORTION = PERSON_PROPORTION + AUCTION_PROPORTION + BID_PROPORTION;
const FIRST_PERSON_ID = 1000;
const FIRST_AUCTION_ID = 1000;
const FIRST_CATEGORY_ID = 10;
const NUM_CATEGORIES = 5;
const NUM_ACTIVE_PEOPLE = 1000;
const NUM_IN_FLIGHT_AUCTIONS = 100;
const PERSON_ID_LEAD = 10;
const AUCTION_ID_LEAD = 10;
/** Batch sizes hot ids are taken from (HOT_AUCTION_RATIO, HOT_BIDDER_RATIO, HOT_SELLER_RATIO). */
const HOT_BATCH = 100;
/** The configured odds (NexmarkConfiguration defaults): 1 in N picks a cold id. */
const HOT_AUCTION_ODDS = 2;
const HOT_BIDDER_ODDS = 4;
const HOT_SELLER_ODDS = 4;
const HOT_CHANNELS_RATIO = 100;
const CHANNELS_NUMBER = 10_000;
const HOT_CHANNELS = ['Google', 'Facebook', 'Baidu', 'Apple'] as const;
const HOT_URLS = HOT_CHANNELS.map(
  (c) => `https://www.nexmark.com/${c.slice(0, 4).toLowerCase()}/item.htm?query=1`,
);
const AVG_BID_BYTES = 100;
const AVG_AUCTION_BYTES = 500;
const AVG_PERSON_BYTES = 200;
const US_STATES = ['AZ', 'CA', 'ID', 'OR', 'WA', 'WY'] as const;
const US_CITIES = [
  'Phoenix',
  'Los Angeles',
  'San Francisco',
  'Boise',
  'Portland',
  'Bend',
  'Redmond',
  'Seattle',
  'Kent',
  'Cheyenne',
] as const;
const FIRST_NAMES = [
  'Peter',
  'Paul',
  'Luke',
  'John',
  'Saul',
  'Vicky',
  'Kate',
  'Julie',
  'Sarah',
  'Deiter',
  'Walter',
] as const;
const LAST_NAMES = [
  'Shultz',
  'Abrams',
  'Spencer',
  'White',
  'Bartels',
  'Walton',
  'Smith',
  'Jones',
  'Noris',
] as const;

export interface Bid {
  readonly auction: number;
  readonly bidder: number;
  /** Cents. */
  readonly price: number;
  readonly channel: string;
  readonly url: string;
  /** Epoch ms (the stream's event time). */
  readonly dateTime: number;
  readonly extra: string;
}

export interface Person {
  readonly id: number;
  readonly name: string;
  readonly emailAddress: string;
  readonly creditCard: string;
  readonly city: string;
  readonly state: string;
  readonly dateTime: number;
  readonly extra: string;
}

export interface Auction {
  readonly id: number;
  readonly itemName: string;
  readonly description: string;
  readonly initialBid: number;
  readonly reserve: number;
  readonly dateTime: number;
  readonly expires: number;
  readonly seller: number;
  readonly category: number;
  readonly extra: string;
}

export type NexmarkEvent =
  | { readonly kind: 'person'; readonly person: Person }
  | { readonly kind: 'auction'; readonly auction: Auction }
  | { readonly kind: 'bid'; readonly bid: Bid };

export interface GeneratorConfig {
  /** Events per second of event time (the suite's `tps`, the generator's first event rate). */
  readonly rate: number;
  /** Epoch ms of event 0. */
  readonly baseTime: number;
  readonly seed: number;
}

/** The id (from 0) of the last person created at or before event `eventId`. */
export function lastBase0PersonId(eventId: number): number {
  const epoch = Math.floor(eventId / TOTAL_PROPORTION);
  let offset = eventId % TOTAL_PROPORTION;
  if (offset >= PERSON_PROPORTION) offset = PERSON_PROPORTION - 1;
  return epoch * PERSON_PROPORTION + offset;
}

/** The id (from 0) of the last auction created at or before event `eventId`. */
export function lastBase0AuctionId(eventId: number): number {
  let epoch = Math.floor(eventId / TOTAL_PROPORTION);
  let offset = eventId % TOTAL_PROPORTION;
  if (offset < PERSON_PROPORTION) {
    epoch -= 1;
    offset = AUCTION_PROPORTION - 1;
  } else if (offset >= PERSON_PROPORTION + AUCTION_PROPORTION) offset = AUCTION_PROPORTION - 1;
  else offset -= PERSON_PROPORTION;
  return epoch * AUCTION_PROPORTION + offset;
}

/** What event `eventId` is: by its place in each run of 50 (1 person, 3 auctions, 46 bids). */
export function kindOf(eventId: number): NexmarkEvent['kind'] {
  const rem = eventId % TOTAL_PROPORTION;
  if (rem < PERSON_PROPORTION) return 'person';
  if (rem < PERSON_PROPORTION + AUCTION_PROPORTION) return 'auction';
  return 'bid';
}

export function nexmarkGenerator(config: GeneratorConfig) {
  const random = seededRandom(config.seed);
  const nextInt = (n: number) => Math.floor(random() * n);
  // Built from char codes in one call: appending a character at a time leaves a rope of one node
  // per character, which for millions of events exhausted the heap.
  const nextString = (length: number) => {
    const codes = new Array<number>(length);
    for (let i = 0; i < length; i++) codes[i] = 97 + nextInt(26);
    return String.fromCharCode(...codes);
  };
  /** Pads an event of `currentSize` bytes to about `average` (within a fifth), as the suite does. */
  const nextExtra = (currentSize: number, average: number) => {
    if (currentSize > average) return '';
    const desired = average - currentSize;
    const delta = Math.round(desired * 0.2);
    return nextString(desired - delta + nextInt(2 * delta + 1));
  };
  const nextPrice = () => Math.round(10 ** (random() * 6) * 100);
  const nextBase0PersonId = (eventId: number) => {
    const numPeople = lastBase0PersonId(eventId) + 1;
    const active = Math.min(numPeople, NUM_ACTIVE_PEOPLE);
    return numPeople - active + nextInt(active + PERSON_ID_LEAD);
  };
  const nextBase0AuctionId = (eventId: number) => {
    const max = lastBase0AuctionId(eventId);
    const min = Math.max(max - NUM_IN_FLIGHT_AUCTIONS, 0);
    return min + nextInt(max - min + 1 + AUCTION_ID_LEAD);
  };
  const timeOf = (eventId: number) => config.baseTime + Math.floor((eventId * 1000) / config.rate);

  const bid = (eventId: number): Bid => {
    const auction =
      (nextInt(HOT_AUCTION_ODDS) > 0
        ? Math.floor(lastBase0AuctionId(eventId) / HOT_BATCH) * HOT_BATCH
        : nextBase0AuctionId(eventId)) + FIRST_AUCTION_ID;
    const bidder =
      (nextInt(HOT_BIDDER_ODDS) > 0
        ? Math.floor(lastBase0PersonId(eventId) / HOT_BATCH) * HOT_BATCH + 1
        : nextBase0PersonId(eventId)) + FIRST_PERSON_ID;
    const price = nextPrice();
    let channel: string;
    let url: string;
    if (nextInt(HOT_CHANNELS_RATIO) > 0) {
      const i = nextInt(HOT_CHANNELS.length);
      channel = HOT_CHANNELS[i] ?? 'Google';
      url = HOT_URLS[i] ?? '';
    } else {
      const n = nextInt(CHANNELS_NUMBER);
      channel = `channel-${n}`;
      url = `https://www.nexmark.com/${nextString(5)}/item.htm?query=1&channel_id=${n}`;
    }
    return {
      auction,
      bidder,
      price,
      channel,
      url,
      dateTime: timeOf(eventId),
      extra: nextExtra(32, AVG_BID_BYTES),
    };
  };

  const person = (eventId: number): Person => {
    const id = lastBase0PersonId(eventId) + FIRST_PERSON_ID;
    const name = `${FIRST_NAMES[nextInt(FIRST_NAMES.length)]} ${LAST_NAMES[nextInt(LAST_NAMES.length)]}`;
    const emailAddress = `${nextString(7)}@${nextString(5)}.com`;
    const creditCard = Array.from({ length: 4 }, () => String(1000 + nextInt(9000))).join(' ');
    const city = US_CITIES[nextInt(US_CITIES.length)] ?? 'Kent';
    const state = US_STATES[nextInt(US_STATES.length)] ?? 'WA';
    const size = 8 + name.length + emailAddress.length + creditCard.length + city.length + state.length;
    return {
      id,
      name,
      emailAddress,
      creditCard,
      city,
      state,
      dateTime: timeOf(eventId),
      extra: nextExtra(size, AVG_PERSON_BYTES),
    };
  };

  const auction = (eventId: number): Auction => {
    const id = lastBase0AuctionId(eventId) + FIRST_AUCTION_ID;
    const seller =
      (nextInt(HOT_SELLER_ODDS) > 0
        ? Math.floor(lastBase0PersonId(eventId) / HOT_BATCH) * HOT_BATCH
        : nextBase0PersonId(eventId)) + FIRST_PERSON_ID;
    const category = FIRST_CATEGORY_ID + nextInt(NUM_CATEGORIES);
    const initialBid = nextPrice();
    const dateTime = timeOf(eventId);
    // The suite spreads expiries so about NUM_IN_FLIGHT_AUCTIONS are open at once.
    const expires =
      dateTime +
      Math.ceil((NUM_IN_FLIGHT_AUCTIONS * TOTAL_PROPORTION * 1000) / (AUCTION_PROPORTION * config.rate)) *
        (1 + nextInt(2));
    const itemName = nextString(20);
    const description = nextString(100);
    return {
      id,
      itemName,
      description,
      initialBid,
      reserve: initialBid + nextPrice(),
      dateTime,
      expires,
      seller,
      category,
      extra: nextExtra(8 * 6 + itemName.length + description.length, AVG_AUCTION_BYTES),
    };
  };

  /** Event `eventId` (from 0); call in order, as the random stream is shared. */
  return (eventId: number): NexmarkEvent => {
    const kind = kindOf(eventId);
    if (kind === 'person') return { kind, person: person(eventId) };
    if (kind === 'auction') return { kind, auction: auction(eventId) };
    return { kind, bid: bid(eventId) };
  };
}
