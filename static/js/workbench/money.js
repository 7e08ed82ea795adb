// Amounts arrive in minor units (cents); the cart shows them in the store's currency.

export function moneyFormatter(currency) {
  try {
    const format = new Intl.NumberFormat("en", { style: "currency", currency });
    const digits = format.resolvedOptions().maximumFractionDigits;
    return (minor) => format.format(minor / 10 ** digits);
  } catch {
    return (minor) => `${(minor / 100).toFixed(2)} ${currency}`;
  }
}
