using StepWiser.ML.Chunking;
using StepWiser.ML.Generation;
using StepWiser.ML.Judging;
using StepWiser.ML.AnswerChecking;

namespace StepWiser.ML.Selection;

/// <summary>
/// Stepwise rejection-sampling data selection (docs/judging-evaluation-search.md): sample N solutions per prompt, keep the correct ones,
/// and pick the one with the highest mean chunk score from the judge (a chunk's score is the judge's probability that it
/// is right, <see cref="Judging.StepVerdict.Score"/>); outcome-only selection picks a random correct one instead. Fine-tune the policy on
/// either pick (e.g. with <see cref="Training.SftTrainer"/>) to compare them.
/// </summary>
public static class JudgeDataSelection
{
    /// <summary>Samples, verifies, scores and selects; all judge calls of all prompts are batched per chunk index.</summary>
    public static async Task<IReadOnlyList<SelectionResult>> SelectAsync(ITextGenerator policy, IStepJudge judge, IAnswerVerifier verifier,
        IReadOnlyList<(string Prompt, string Problem, string Answer)> prompts, SamplingOptions sampling, int seed = 0, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        var results = await policy.GenerateAsync(prompts.Select(p => GenerationRequest.FromText(p.Prompt, sampling)).ToArray(), cancellationToken).ConfigureAwait(false);
        var candidates = new List<(int Prompt, string Solution, IReadOnlyList<string> Chunks)>();
        var correctCounts = new int[prompts.Count];
        for (var i = 0; i < prompts.Count; i++)
        {
            foreach (var s in results[i].Samples)
            {
                if (!verifier.Verify(s.Text, prompts[i].Answer).IsCorrect) continue;
                correctCounts[i]++;
                var chunks = ChunkParser.ParseTags(s.Text, MalformedChunkPolicy.Repair).Chunks;
                if (chunks.Count > 0) candidates.Add((i, s.Text, chunks));
            }
        }
        // Every chunk of every correct candidate, judged with its history: one batched judge call.
        var inputs = candidates.SelectMany(c => c.Chunks.Select((chunk, k) => new JudgeInput(prompts[c.Prompt].Problem, c.Chunks.Take(k).ToArray(), chunk))).ToArray();
        var verdicts = inputs.Length == 0 ? [] : await judge.JudgeStepsAsync(inputs, cancellationToken).ConfigureAwait(false);
        var offset = 0;
        var scored = new List<(int Prompt, string Solution, float Score)>();
        foreach (var c in candidates)
        {
            scored.Add((c.Prompt, c.Solution, verdicts.Skip(offset).Take(c.Chunks.Count).Average(v => v.Score)));
            offset += c.Chunks.Count;
        }
        var random = new Random(seed);
        return prompts.Select((p, i) =>
        {
            var mine = scored.Where(s => s.Prompt == i).ToArray();
            if (mine.Length == 0) return new SelectionResult(p.Prompt, p.Problem, results[i].Samples.Count, correctCounts[i], null, float.NaN, null);
            var best = mine.OrderByDescending(s => s.Score).First();
            var outcome = mine[random.Next(mine.Length)];
            return new SelectionResult(p.Prompt, p.Problem, results[i].Samples.Count, correctCounts[i], best.Solution, best.Score, outcome.Solution)
            {
                CorrectSolutions = mine.Select(s => s.Solution).ToArray(), CorrectScores = mine.Select(s => s.Score).ToArray(),
            };
        }).ToArray();
    }
}
