// The visit's cart as the associate's verdicts make it: net quantity per sku, takes minus
// put-backs, a sku netting to zero or less left out. The same rule as
// validation.services.review.cart_quantities in Python; tests/test_cart_js.py feeds both
// the same cases (tests/validation/cart_cases.json). Pure: no DOM, no state.

const SIGN = { take: 1, put_back: -1 };

// events: [{id, sku, action, quantity}] as the model saw them.
// verdicts: [{event, verdict: "confirm" | "reject" | "correct", sku?, action?, quantity?}];
//   an event without one counts as confirmed (the screen's events not checked yet).
// missed: [{sku, action, quantity}] the model did not see.
// Returns the cart's lines in order of first appearance, each with the model's quantity
// (`predicted`) and the verdicts' (`after`), both at least 0; lines at 0 in both are dropped.
export function cartLines({ events, verdicts = [], missed = [] }) {
  const byEvent = new Map(verdicts.map((v) => [String(v.event), v]));
  const lines = new Map();
  const add = (sku, field, action, quantity) => {
    if (!lines.has(sku)) lines.set(sku, { sku, predicted: 0, after: 0 });
    lines.get(sku)[field] += (SIGN[action] ?? -1) * quantity;
  };
  for (const event of events) {
    add(event.sku, "predicted", event.action, event.quantity);
    const verdict = byEvent.get(String(event.id)) || { verdict: "confirm" };
    if (verdict.verdict === "confirm") add(event.sku, "after", event.action, event.quantity);
    else if (verdict.verdict === "correct") add(verdict.sku, "after", verdict.action, verdict.quantity);
  }
  for (const item of missed) add(item.sku, "after", item.action, item.quantity);
  return [...lines.values()]
    .map((line) => ({ ...line, predicted: Math.max(0, line.predicted), after: Math.max(0, line.after) }))
    .filter((line) => line.predicted > 0 || line.after > 0);
}

