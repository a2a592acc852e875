import { roundUSD } from './metric-totals.ts'

/** Cost in USD of an inference from its token counts and its model's list prices in USD per million tokens. */
export const costOf = (inputTokens: number, outputTokens: number, inputPricePer1M: number, outputPricePer1M: number) =>
  roundUSD((inputTokens * inputPricePer1M + outputTokens * outputPricePer1M) / 1e6)
