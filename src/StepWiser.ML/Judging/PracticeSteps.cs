namespace StepWiser.ML.Judging;

/// <summary>
/// Label-free practice for a judge's analysis stage: real steps, and the same steps with a few digits changed. A judge
/// that learns to check a step by setting the step's own characters beside what it expects (a marked comparison) sees
/// few real mistakes among a policy's steps, and the ones it sees are the same few kinds; without steps that differ from
/// its expectation it learns to write its expectation twice. Changed digits give it unlimited steps whose characters
/// must be read, not guessed. Nothing here knows a task's rules or any label: the analysis of a changed step is computed
/// from the changed step like any other.
/// </summary>
public static class PracticeSteps
{
    /// <summary>
    /// <paramref name="count"/> inputs drawn at random from <paramref name="steps"/>: every other one as it is, the rest with
    /// 1 to <paramref name="maxEdits"/> digits of its chunk changed to other digits (problem and history untouched; a
    /// chunk without digits is used as it is).
    /// </summary>
    public static IReadOnlyList<JudgeInput> WithChangedDigits(IReadOnlyList<JudgeInput> steps, int count, int maxEdits = 2, int seed = 1)
    {
        ArgumentNullException.ThrowIfNull(steps);
        if (steps.Count == 0) throw new ArgumentException("no steps to practise on", nameof(steps));
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEdits, 1);
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(k =>
        {
            var step = steps[random.Next(steps.Count)];
            return k % 2 == 0 ? step : step with { Chunk = Edit(step.Chunk, 1 + random.Next(maxEdits), random, char.IsAsciiDigit) };
        }).ToArray();
    }

    /// <summary>
    /// <paramref name="text"/> with <paramref name="edits"/> characters for which <paramref name="editable"/> holds (among
    /// the first <paramref name="limit"/>) each changed to another of its kind: a digit to a digit, a letter to a letter
    /// of the same case. Unchanged when no character is editable.
    /// </summary>
    internal static string Edit(string text, int edits, Random random, Func<char, bool> editable, int limit = int.MaxValue)
    {
        var chars = text.ToCharArray();
        var positions = Enumerable.Range(0, Math.Min(chars.Length, limit)).Where(i => editable(chars[i])).ToArray();
        if (positions.Length == 0) return text;
        for (var e = 0; e < edits; e++)
        {
            var i = positions[random.Next(positions.Length)];
            var c = chars[i];
            char other;
            do other = char.IsAsciiDigit(c) ? (char)('0' + random.Next(10)) : char.IsAsciiLetterUpper(c) ? (char)('A' + random.Next(26)) : (char)('a' + random.Next(26));
            while (other == c);
            chars[i] = other;
        }
        return new string(chars);
    }
}
