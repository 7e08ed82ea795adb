// Small DOM helpers every workbench module uses, so that none of them grows its own.

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

// The product a button or row stands for, from its data-* attributes (candidates, search
// results and visit events all carry the same four).
export function productOf(el) {
  return { sku: el.dataset.sku, name: el.dataset.name, price: Number(el.dataset.price || 0), image: el.dataset.image || "" };
}

