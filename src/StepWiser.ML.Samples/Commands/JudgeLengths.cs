using System.Globalization;
using StepWiser.ML.Judging;
using StepWiser.ML.Models;
using StepWiser.ML.Tokenization;

namespace StepWiser.ML.Samples.Commands;

/// <summary>
/// Before training a judge: every selected step's judge prompt must leave room for the judge's response in the base's
/// context (GRPO samples up to --max-new-tokens after it) and, when there is a warm-up, for the boxed verdict within
/// --max-sequence-length (a longer sequence would be cut before its verdict). The first step that does not fit is named
/// by record and step.
/// </summary>
internal static class JudgeLengths
{
    /// <summary>Checks with the base's own tokenizer and context, read from <paramref name="checkpoint"/> (no weights are loaded).</summary>
    public static void Check(string file, IReadOnlyList<(int Record, JudgeExample[] Steps)> selected, JudgeTemplate template, string checkpoint, int maxSequenceLength, int maxNewTokens,
        bool warmUp)
    {
        var context = ModelConfig.Load(Path.Combine(checkpoint, "config.json")).MaxPositionEmbeddings;
        var tokenizer = HuggingFaceTokenizer.Load(Path.Combine(checkpoint, "tokenizer.json"));
        var verdict = tokenizer.CountTokens(" " + VerdictParser.Format(false)) + 1;
        foreach (var (record, steps) in selected)
        {
            foreach (var step in steps)
            {
                var prompt = template.Render(step.Input);
                var tokens = prompt.Length > (long)Cli.MaxCharactersPerToken * context ? int.MaxValue : tokenizer.CountTokens(prompt);
                var where = $"train-judge: {file}: record {record}, step {step.Input.History.Count}: the judge's prompt is {(tokens == int.MaxValue ? $"{prompt.Length:N0} characters" : $"{tokens:N0} tokens")}";
                if ((long)tokens + maxNewTokens > context)
                    throw new CliException(string.Create(CultureInfo.InvariantCulture,
                        $"{where}; with --max-new-tokens {maxNewTokens} it exceeds the base's context of {context:N0} tokens (max_position_embeddings). Leave that solution out or lower --max-new-tokens."));
                if (warmUp && (long)tokens + verdict > maxSequenceLength)
                    throw new CliException(string.Create(CultureInfo.InvariantCulture,
                        $"{where}; with its verdict it exceeds --max-sequence-length {maxSequenceLength}, so the warm-up would cut the verdict off. Raise --max-sequence-length or leave that solution out."));
            }
        }
    }
}
