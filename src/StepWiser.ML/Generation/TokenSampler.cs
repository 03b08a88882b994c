using StepWiser.ML.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace StepWiser.ML.Generation;

/// <summary>
/// Picks the next token of each row of a batch from its (R, V) logits, each row with its own temperature,
/// top-k, top-p and random stream. Random numbers come from per-row managed generators and are turned into
/// tokens by inverse-CDF search on the device, so a row's tokens do not depend on what else is in the batch.
/// </summary>
internal static class TokenSampler
{
    /// <summary>Per-row settings and random stream.</summary>
    internal sealed class Row(SamplingOptions options, Random random)
    {
        public SamplingOptions Options { get; } = options;
        public Random Random { get; } = random;
    }

    /// <summary>Returns the chosen token and its model log-probability for each row.</summary>
    public static (long[] Tokens, float[] LogProbs) Sample(Tensor logits, IReadOnlyList<Row> rows)
    {
        using var scope = NewDisposeScope();
        int r = rows.Count;
        long vocab = logits.shape[1];
        var logits32 = logits.to(ScalarType.Float32);
        var logProbs = logits32.log_softmax(-1);                                                     // (R, V)
        var greedy = logits32.argmax(-1, keepdim: true);                                             // (R, 1)

        Tensor chosen = greedy;
        if (rows.Any(row => row.Options.Temperature > 0))
        {
            var temperature = tensor(rows.Select(x => x.Options.Temperature > 0 ? x.Options.Temperature : 1f).ToArray(), device: logits.device).unsqueeze(1);
            var probs = (logits32 / temperature).softmax(-1);                                        // (R, V)
            Tensor cdf, order = null!;
            bool filter = rows.Any(x => x.Options.TopP < 1 || (x.Options.TopK > 0 && x.Options.TopK < vocab));
            if (filter)
            {
                var (sorted, indices) = probs.sort(-1, descending: true);                          // (R, V) each
                order = indices;
                var topP = tensor(rows.Select(x => x.Options.TopP).ToArray(), device: logits.device).unsqueeze(1);
                var topK = tensor(rows.Select(x => x.Options.TopK > 0 ? (long)x.Options.TopK : vocab).ToArray(), device: logits.device).unsqueeze(1);
                var before = sorted.cumsum(-1) - sorted;                                            // mass strictly before each token
                var rank = arange(vocab, device: logits.device).unsqueeze(0);
                var drop = before.gt(topP).logical_or(rank.ge(topK));                             // the top token is never dropped
                cdf = sorted.masked_fill(drop, KeptScalars.Zero).cumsum(-1);                       // kept scalar (Models.KeptScalars)
            }
            else
            {
                cdf = probs.cumsum(-1);
            }
            var uniforms = tensor(rows.Select(x => x.Options.Temperature > 0 ? (float)x.Random.NextDouble() : 0f).ToArray(), device: logits.device).unsqueeze(1);
            var target = uniforms * cdf[.., ^1..];                                                  // (R, 1), in [0, total)
            using var last = (vocab - 1).ToScalar();                                               // kept through the call (Models.KeptScalars)
            var pick = searchsorted(cdf, target, right: true).clamp_max(last);                     // first index with cdf > target
            var sampled = filter ? order.gather(1, pick) : pick;
            var isGreedy = tensor(rows.Select(x => x.Options.Temperature <= 0).ToArray(), device: logits.device).unsqueeze(1);
            chosen = where(isGreedy, greedy, sampled);
        }
        if (rows.Any(row => row.Options.TemperedLogProbs && row.Options.Temperature > 0 && row.Options.Temperature != 1))
        {
            // Rows that ask for it get log-probs of the distribution they were sampled from (logits / T).
            var scale = tensor(rows.Select(x => x.Options.TemperedLogProbs && x.Options.Temperature > 0 ? x.Options.Temperature : 1f).ToArray(), device: logits.device).unsqueeze(1);
            logProbs = (logits32 / scale).log_softmax(-1);
        }
        var chosenLogProbs = logProbs.gather(1, chosen);
        var tokens = chosen.squeeze(1).cpu().data<long>().ToArray();
        var lps = chosenLogProbs.squeeze(1).cpu().data<float>().ToArray();
        return (tokens, lps);
    }
}
