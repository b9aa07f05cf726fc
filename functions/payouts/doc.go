// Package payouts is the function that pays miners from the pool wallet.
// Every payouts.interval, for each enabled coin with a wallet configured, a
// pass (Step) does, in this order:
//
//  1. Resolve payouts left in state intent by a crash: the wallet's sent
//     transactions are reconciled against the payout's items (same
//     recipients, same amounts, a txid not yet recorded). A match records
//     its txid; no match means the wallet never sent it, so it is sent now.
//     (btcwallet refuses sendmany comments, so labels cannot be used;
//     reconciliation by outputs works with every bitcoin-family wallet.)
//  2. Follow sent payouts: confirmations from gettransaction; at
//     payouts.confirmations the payout is confirmed; a transaction the
//     wallet reports conflicted (negative confirmations) failed, and its
//     amounts return to the balances.
//  3. Pay: every miner whose balance reached max(pool minimum, own
//     threshold) is recorded in a payout in state intent with the balance
//     debited (one transaction), then each batch is sent with one
//     sendmany, then the txid is recorded. A wallet that answers with an
//     error (insufficient funds, bad address) sent nothing: the payout
//     fails and the amounts return. A transport error leaves the intent
//     for step 1.
//
// Fee policy: "pool" sends the full amount and the wallet pays the network
// fee; "miner" deducts payouts.fee_per_output from each amount sent.
// Events events.payout.<coin>.<intent|sent|confirmed|failed> follow every
// step. `payouts.reconcile` ({"coin"}) answers the wallet balance against
// what the pool owes. One copy runs at a time per coin (a PostgreSQL
// advisory lock), so nothing is ever sent twice.
//
// Metrics (Collectors; counted by this process, per coin):
// jetpool_payouts_payouts_total{coin,state} counts each payout state change
// the pass records — intent, sent, reconciled (an intent matched to a wallet
// transaction after a restart), confirmed, failed;
// jetpool_payouts_sent_base_units_total{coin} sums the amounts of payouts
// recorded sent or reconciled; jetpool_payouts_wallet_errors_total{coin,kind}
// counts failed wallet calls, kind refused (the wallet answered with an
// error) or transport (no usable answer).
//
// It must not compute rewards or talk to the coin node.
package payouts
