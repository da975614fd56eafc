/**
 * The connection budget: how many MySQL and Redis connections a stage can open at its peak,
 * against what the servers allow. Counted from the stores' clients (stores.ts).
 */
import type { Spec } from "../spec/schema";
import { NAMES } from "./names";
import type { BudgetLine, StoreClient } from "./stores";

export interface StoreBudget {
  readonly lines: readonly BudgetLine[];
  /** Sum of the lines. */
  readonly demand: number;
  /** Demand plus headroom: what the server must allow. */
  readonly required: number;
  /** What the server allows (max_connections / maxclients). */
  readonly limit: number;
  readonly fits: boolean;
  /** demand / limit, for red flags near the limit. */
  readonly utilisation: number;
}

export interface ConnectionBudget {
  readonly mysql: StoreBudget;
  readonly redis: StoreBudget;
}

function storeBudget(lines: BudgetLine[], limit: number, headroomPercent: number): StoreBudget {
  const demand = lines.reduce((n, l) => n + l.connections, 0);
  const required = Math.ceil(demand * (1 + headroomPercent / 100));
  return { lines, demand, required, limit, fits: required <= limit, utilisation: limit > 0 ? demand / limit : Infinity };
}

export function connectionBudget(spec: Spec, clients: readonly StoreClient[]): ConnectionBudget {
  const linesOf = (store: string) => clients.flatMap((c) => (c.store === store && c.budget ? [c.budget] : []));
  const headroom = spec.connectionHeadroomPercent;
  return {
    mysql: storeBudget(linesOf(NAMES.mysql), spec.data.mysql.maxConnections, headroom),
    redis: storeBudget(linesOf(NAMES.redis), spec.data.redis.maxclients, headroom),
  };
}
