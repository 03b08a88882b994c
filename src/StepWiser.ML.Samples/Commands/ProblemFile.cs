using System.Globalization;
using System.Text.Json.Nodes;
using StepWiser.ML.Data;
using StepWiser.ML.Judging;
using StepWiser.ML.Models;

namespace StepWiser.ML.Samples.Commands;

/// <summary>
/// The problems file of <c>search</c> and <c>select</c>: one JSON object per line with <c>"prompt"</c> (the problem, a
/// string) and <c>"answer"</c> (the reference, a string or a number; required by select, used by search to report
/// accuracy); other fields are kept in the output. A bad line is named by file and line.
/// </summary>
internal static class ProblemFile
{
    public static IReadOnlyList<Problem> Read(string path, bool answerRequired) => JsonLines.Read(path, (line, number) =>
    {
        var node = JsonNode.Parse(line) as JsonObject ?? throw new InvalidDataException("not a JSON object");
        var prompt = node["prompt"] is JsonValue p && p.TryGetValue<string>(out var text) && text.Trim().Length > 0 ? text : throw new InvalidDataException("needs \"prompt\" (a non-empty string: the problem)");
        var answer = node["answer"] switch
        {
            null => answerRequired ? throw new InvalidDataException("needs \"answer\" (the reference answer)") : null,
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            JsonValue v when v.TryGetValue<double>(out var d) => d.ToString(CultureInfo.InvariantCulture),
            _ => throw new InvalidDataException("\"answer\" must be a string or a number"),
        };
        return new Problem(number, node, prompt, answer);
    });

    /// <summary>
    /// Before any work: each problem's prompt plus <paramref name="budget"/> new tokens must fit the local policy's
    /// context, and the judge's prompt for it (no history yet) plus the same budget and the judge's own new tokens the
    /// local judge's, counting the policy's tokens as the judge's (they are usually one model family). The first that
    /// does not is named by file and line.
    /// </summary>
    public static void CheckContext(string command, string file, IReadOnlyList<Problem> problems, Func<Problem, string> promptOf, int budget, string budgetOption,
        ModelBundle? policy, StepwiseJudgeTransformer? judge)
    {
        foreach (var p in problems)
        {
            if (policy is not null)
                Require(command, file, p, "the policy's prompt", promptOf(p), budget, budgetOption, policy);
            if (judge?.Model is { } bundle)
                Require(command, file, p, "the judge's prompt", judge.Judge.Template.Render(new JudgeInput(p.Prompt, [], "")), budget + judge.Judge.Options.MaxNewTokens,
                    $"{budgetOption} and the judge's new tokens", bundle);
        }
    }

    private static void Require(string command, string file, Problem p, string what, string text, int budget, string budgetOption, ModelBundle model)
    {
        var context = model.Model.Config.MaxPositionEmbeddings;
        var tokens = text.Length > (long)Cli.MaxCharactersPerToken * context ? int.MaxValue : model.Tokenizer.CountTokens(text);
        if ((long)tokens + budget > context)
            throw new CliException(string.Create(CultureInfo.InvariantCulture,
                $"{command}: {file}:{p.Line}: {what} is {(tokens == int.MaxValue ? $"{text.Length:N0} characters" : $"{tokens:N0} tokens")}; with {budget:N0} new tokens ({budgetOption}) it exceeds the context of {context:N0} tokens (max_position_embeddings). Shorten or leave out that problem, or lower {budgetOption}."));
    }
}
