// Synthetic e-commerce transactions in the seed's data model: six categories, amounts 10.00 to
// 999.99, three payment methods. Seeded, so tests and benchmarks can recompute what they sent.

export const CATEGORIES = ['Electronics', 'Clothing', 'Home & Garden', 'Books', 'Sports', 'Beauty'] as const;
export const PAYMENT_METHODS = ['credit_card', 'debit_card', 'paypal'] as const;
const PRODUCTS: Record<(typeof CATEGORIES)[number], readonly string[]> = {
  Electronics: ['Headphones', 'Smartphone', 'Laptop', 'Monitor'],
  Clothing: ['Jacket', 'Sneakers', 'T-Shirt', 'Jeans'],
  'Home & Garden': ['Lamp', 'Chair', 'Planter', 'Rug'],
  Books: ['Novel', 'Cookbook', 'Biography', 'Atlas'],
  Sports: ['Yoga Mat', 'Dumbbells', 'Football', 'Racket'],
  Beauty: ['Perfume', 'Lipstick', 'Serum', 'Shampoo'],
};

export interface Transaction {
  transaction_id: string;
  user_id: string;
  product_category: string;
  product_name: string;
  amount: number;
  timestamp: string;
  payment_method: string;
}

/** mulberry32: a tiny seeded PRNG, enough for reproducible workloads. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(random: () => number, items: readonly T[]): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

export function makeTransaction(random: () => number, id: string, time: number): Transaction {
  const category = pick(random, CATEGORIES);
  return {
    transaction_id: id,
    user_id: `user_${Math.floor(random() * 5_000)}`,
    product_category: category,
    product_name: pick(random, PRODUCTS[category]),
    // Cents, so the amount has exactly two decimals: 10.00 to 999.99.
    amount: (1_000 + Math.floor(random() * 99_000)) / 100,
    timestamp: new Date(time).toISOString(),
    payment_method: pick(random, PAYMENT_METHODS),
  };
}

export const envelope = (t: Transaction) => ({ stream: 'ecommerce', data: t });
