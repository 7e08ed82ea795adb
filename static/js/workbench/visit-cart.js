// The visit screen's live cart (#wb-cart): the model's quantity and the one the associate's
// verdicts make, per product, with totals and how far they differ. The quantities come from
// the pure rule in cart.js; this module only draws them.
import { cartLines } from "./cart.js";
import { $ } from "./dom.js";

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

// `events`, `verdicts`, `missed` as cart.js takes them; `products` maps a sku to its name
// and price (minor units); `money` formats minor units.
export function renderCart(root, { events, verdicts, missed, products, money }) {
  const rows = [];
  let before = 0;
  let after = 0;
  let differences = 0;
  for (const line of cartLines({ events, verdicts, missed })) {
    const { name, price } = products.get(line.sku);
    before += line.predicted * price;
    after += line.after * price;
    const tr = document.createElement("tr");
    tr.dataset.sku = line.sku;
    if (line.after !== line.predicted) {
      differences += 1;
      tr.className = line.after > line.predicted ? "diff added" : "diff removed";
    }
    tr.append(cell(name), cell(String(line.predicted), "num"), cell(String(line.after), "num"), cell(money(line.after * price), "num"));
    rows.push(tr);
  }
  if (!rows.length) {
    const tr = document.createElement("tr");
    tr.append(Object.assign(document.createElement("td"), { colSpan: 4, className: "empty", textContent: "Empty cart" }));
    rows.push(tr);
  }
  $("#wb-cart-lines", root).replaceChildren(...rows);
  $("#wb-total-predicted", root).textContent = money(before);
  const total = $("#wb-total-now", root);
  total.textContent = money(after);
  total.classList.toggle("diff", before !== after);
  $("#wb-cart-diff", root).textContent = differences
    ? `${differences} line${differences === 1 ? "" : "s"} differ from the model · ${after >= before ? "+" : "−"}${money(Math.abs(after - before))}`
    : "Same as the model's cart.";
}
