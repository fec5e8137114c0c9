import { between, bidLeAsk, freshness, inSet, matchesRegex, notNull } from './basic.ts';
import type { ExpectationDef } from './definition.ts';
import { increasing, maxChange, unique } from './stateful.ts';
import { tradingHours } from './trading-hours.ts';

/** Every expectation type a suite may use, by its `type` name. */
export const EXPECTATION_TYPES: ReadonlyMap<string, ExpectationDef> = new Map(
  [notNull, between, matchesRegex, inSet, unique, increasing, maxChange, bidLeAsk, freshness, tradingHours].map((d) => [d.type, d]),
);
