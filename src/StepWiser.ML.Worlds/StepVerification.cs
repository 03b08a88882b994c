using System.Text;
using System.Text.RegularExpressions;
using StepWiser.ML.Judging;

namespace StepWiser.ML.Worlds;

/// <summary>
/// The built-in world's verification analysis: how a careful reader checks one step from what the judge sees (the
/// problem, the history and the step), written so that every comparison is a decision about the two characters just
/// written. It recomputes the step's equation the way the policy writes one and sets each recomputed digit beside the
/// step's (<c>33-15=18 11= 86!</c>); a division is multiplied back instead (<c>42*7=84 88= 44=</c>: the result times the
/// divisor gives the input), so checking it needs only the forward table, however rare the inverse facts are; a set
/// digit is checked digit by digit against the digits it keeps and the one it sets (<c>set 55= 11=</c>); a division's
/// check line against the step's own numbers (<c>chk …</c>); an operation the history has already carried out as often
/// as the problem states it is marked <c>again!</c>; the answer step is set beside the value the history ends with
/// (<c>in 55= 11=</c>). "!" marks a pair that differs. The analysis reports checks, not a verdict: the verdict a judge
/// writes after it comes from Monte-Carlo labels. It encodes this world's rules (its arithmetic and step format) and
/// reads only the problem, history and step, never the exact checker's running value or a label: a step that
/// continues a wrong history consistently passes every check.
/// </summary>
public static partial class StepVerification
{
    /// <summary>The analysis of <paramref name="input"/>'s step.</summary>
    public static string Analysis(JudgeInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var previous = input.History.Count == 0
            ? StartPattern().Match(input.Problem) is { Success: true } start ? start.Groups[1].Value : "?"
            : ArithmeticChainWorld.StatedResult(input.History[^1]) ?? AnswerPattern().Match(input.History[^1]) switch { { Success: true } a => a.Groups[1].Value, _ => "?" };
        var lines = input.Chunk.Split("\n\n", StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var last = ArithmeticChainWorld.EquationLine(input.Chunk);
        var text = new StringBuilder();
        if (AnswerPattern().Match(last) is { Success: true } answer)
            return text.Append("in ").Append(Pairs(previous, answer.Groups[1].Value)).ToString();
        var equation = ArithmeticChainWorld.EquationPattern().Match(last);
        var set = ArithmeticChainWorld.SetPattern().Match(last);
        if (!equation.Success && !set.Success) return "unreadable";
        var input0 = equation.Success ? equation.Groups[1].Value : set.Groups[1].Value;
        var instruction = lines.Length >= 2 && lines[0] != last ? InstructionPattern().Match(lines[0]) : Match.Empty;
        if (set.Success)
        {
            // The digits kept and the one set (position and digit from the step's own instruction line).
            var result = set.Groups[2].Value;
            var position = instruction.Success && instruction.Groups[2].Success ? Array.IndexOf(PositionWords, instruction.Groups[2].Value) : -1;
            var digit = instruction.Success && instruction.Groups[2].Success ? instruction.Groups[3].Value : "?";
            text.Append("set");
            for (var j = 0; j < Math.Max(input0.Length, result.Length); j++)
            {
                var expected = j == position ? digit[0] : At(input0, j);
                text.Append(' ').Append(expected).Append(At(result, j)).Append(Mark(expected, At(result, j)));
            }
            return text.ToString();
        }
        var op = equation.Groups[2].Value[0];
        var operand = equation.Groups[3].Value;
        var stated = equation.Groups[4].Value;
        // An operation the history has already carried out as often as the problem states it is not one still to do.
        var times = Judging.JudgeTemplate.Sentences(input.Problem).Count(t => InstructionPattern().Match(t) is { Success: true } m && Symbol(m.Groups[1].Value) == op.ToString() && m.Groups[3].Value == operand);
        if (times > 0 && input.History.Count(h => Applies(h, op, operand)) >= times) text.Append("again!");
        // The step's equation recomputed the way the policy writes one (a division multiplied back, so only the forward
        // table is needed), then the recomputed digits beside the step's.
        if (op == '/')
        {
            var back = Recompute('*', stated, operand);
            text.Append(text.Length == 0 ? "" : " ").Append(stated).Append('*').Append(operand).Append('=').Append(back).Append(' ').Append(Pairs(back, input0));
        }
        else
        {
            var r = Recompute(op, input0, operand);
            text.Append(text.Length == 0 ? "" : " ").Append(input0).Append(op).Append(operand).Append('=').Append(r).Append(' ').Append(Pairs(r, stated));
        }
        // A division's check line must multiply the step's result back to its input.
        if (lines.FirstOrDefault(l => l.StartsWith("Check:", StringComparison.Ordinal)) is { } checkLine)
        {
            var check = CheckPattern().Match(checkLine);
            text.Append(" chk ").Append(check.Success ? Pairs(stated, check.Groups[1].Value) + " " + Pairs(operand, check.Groups[2].Value) + " " + Pairs(input0, check.Groups[3].Value) : "?!");
        }
        return text.ToString();
    }

    /// <summary>Whether a chunk's equation applies <paramref name="op"/> with <paramref name="operand"/> (right or wrong).</summary>
    private static bool Applies(string chunk, char op, string operand) =>
        ArithmeticChainWorld.EquationPattern().Match(ArithmeticChainWorld.EquationLine(chunk)) is { Success: true } m && m.Groups[2].Value[0] == op && m.Groups[3].Value == operand;

    private static readonly string[] PositionWords = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "eleventh", "twelfth"];

    /// <summary>The digit-by-digit result of <paramref name="a"/> <paramref name="op"/> <paramref name="b"/> ('?' for a digit that cannot be computed).</summary>
    private static string Recompute(char op, string a, string b) => new(Enumerable.Range(0, a.Length).Select(j =>
    {
        var operand = op == '*' ? Number(b) : j < b.Length ? Digit(b[j]) : null;
        return Digit(a[j]) is { } ad && operand is { } bd ? (char)('0' + Apply(op, ad, bd)) : '?';
    }).ToArray());

    private static int Apply(char op, int a, int b) => op switch { '+' => (a + b) % 10, '-' => ((a - b) % 10 + 10) % 10, _ => a * b % 10 };

    private static string Symbol(string verb) => verb switch { "add" or "Add" => "+", "subtract" or "Subtract" => "-", "multiply by" or "Multiply by" => "*", "divide by" or "Divide by" => "/", _ => "=" };

    private static string Pairs(string expected, string actual) =>
        string.Join(' ', Enumerable.Range(0, Math.Max(expected.Length, actual.Length)).Select(j => $"{At(expected, j)}{At(actual, j)}{Mark(At(expected, j), At(actual, j))}"));

    private static char Mark(char expected, char actual) => expected == actual && expected != '?' ? '=' : '!';

    private static char At(string text, int j) => j < text.Length ? text[j] : '_';

    private static int? Digit(char c) => char.IsAsciiDigit(c) ? c - '0' : null;

    private static int? Number(string text) => text.Length is > 0 and <= 2 && text.All(char.IsAsciiDigit) ? int.Parse(text, System.Globalization.CultureInfo.InvariantCulture) : null;

    [GeneratedRegex(@"^Check: (\d+)\*(\d+)=(\d+)\.$")]
    private static partial Regex CheckPattern();

    [GeneratedRegex(@"^Start with (\d+)\.")]
    private static partial Regex StartPattern();

    [GeneratedRegex(@"^The answer is \\boxed\{(\d+)\}\.?$")]
    private static partial Regex AnswerPattern();

    /// <summary>An instruction line in any of the world's wordings: group 1 the verb, group 2 the operand, group 3 the position word of a set digit.</summary>
    [GeneratedRegex(@"^(?:Now )?(Add|add|Subtract|subtract|Multiply by|multiply by|Divide by|divide by|Set the|set the) (?:(\w+) digit to )?(\d+)\.$")]
    private static partial Regex InstructionPattern();
}
