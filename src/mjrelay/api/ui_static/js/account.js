// Balance and usage. The relay has no account endpoint yet: when one exists, return
// {balance: "12.50", unit: "credits", used: 42} here and the header shows it. Returning null
// hides the badge, so nothing here guesses at endpoints that are not there.

export async function loadAccount(_api) {
  return null;
}
