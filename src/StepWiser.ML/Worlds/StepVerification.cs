using System.Text;
using System.Text.RegularExpressions;
using StepWiser.ML.Judging;

namespace StepWiser.ML.Worlds;

/// <summary>
/// The built-in world's verification analysis: how a careful reader checks one step from what the judge sees (the
/// problem, the history and the step), written so that every check is a decision about the two characters just
/// written. It sets the value the history ends with beside the step's input, digit by digit (<c>in 00= 99=</c>); finds
/// the problem's sentence for the step's operation (by operator, then operand) and sets its operand beside the
/// equation's (<c>(3) 88= 44=</c>); then recomputes each digit of the equation with one forward table fact and sets the
/// step's digit beside it (<c>0+8=88= 9+4=33=</c>). A division is checked by multiplying its result back
/// (<c>7*7=99=</c>: the result digit times the divisor gives the input digit), so the check needs only the forward
/// table, however rare the inverse facts are; a set digit is checked against the problem's sentence and the digits it
/// keeps; the answer step against the value the history ends with. "!" marks a pair that differs. The analysis reports
/// checks, not a verdict: the verdict a judge writes after it comes from Monte-Carlo labels. It encodes this world's
/// rules (its arithmetic and step format) and reads only the problem, history and step, never the exact checker's
/// running value or a label: a step that continues a wrong history consistently passes every check, and it does not
/// track which operations the history has already done.
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
        text.Append("in ").Append(Pairs(previous, input0));
        var instruction = lines.Length >= 2 && lines[0] != last ? InstructionPattern().Match(lines[0]) : Match.Empty;
        var sentences = Judging.JudgeTemplate.Sentences(input.Problem);
        if (set.Success)
        {
            var result = set.Groups[2].Value;
            // The step's own instruction line (position and digit) beside the problem's set-digit sentence.
            var linePosition = instruction.Success && instruction.Groups[2].Success ? Array.IndexOf(PositionWords, instruction.Groups[2].Value) : -1;
            var lineDigit = instruction.Success && instruction.Groups[2].Success ? instruction.Groups[3].Value : "?";
            var (number, sentence) = Lookup(sentences, "=", null);
            var position = sentence is { Success: true } ? Array.IndexOf(PositionWords, sentence.Groups[2].Value) : -1;
            var digit = sentence is { Success: true } ? sentence.Groups[3].Value : "?";
            text.Append(" (").Append(number).Append(") ").Append(Pairs(Ordinal(position), Ordinal(linePosition))).Append(' ').Append(Pairs(digit, lineDigit)).Append(" set");
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
        // The problem's instruction this step carries out, found by its operator (and operand), beside the equation's operand.
        var (found, match) = Lookup(sentences, op.ToString(), operand);
        text.Append(" (").Append(found).Append(") ").Append(Pairs(match is { Success: true } ? match.Groups[3].Value : "?", operand));
        for (var j = 0; j < Math.Max(input0.Length, stated.Length); j++)
        {
            var a = At(input0, j);
            var c = At(stated, j);
            if (op == '/')
            {
                // Multiply the result digit back by the divisor; it must give the input digit.
                var back = Digit(c) is { } cd && Number(operand) is { } k ? (char)('0' + cd * k % 10) : '?';
                text.Append(' ').Append(c).Append('*').Append(operand).Append('=').Append(back).Append(a).Append(Mark(back, a));
            }
            else
            {
                var b = op == '*' ? operand : At(operand, j).ToString();
                var r = Digit(a) is { } ad && Number(b) is { } bd ? (char)('0' + Apply(op, ad, bd)) : '?';
                text.Append(' ').Append(a).Append(op).Append(b).Append('=').Append(r).Append(c).Append(Mark(r, c));
            }
        }
        return text.ToString();
    }

    /// <summary>
    /// The problem sentence (its 1-based number and its match) that states an operation with <paramref name="symbol"/>
    /// ("+", "-", "*", "/", or "=" for a set digit): the first whose operand equals <paramref name="operand"/>, else the
    /// one sharing most digits with it in place, else the first with that operator; ("?", null) when none has it.
    /// </summary>
    private static (string Number, Match? Sentence) Lookup(IReadOnlyList<string> sentences, string symbol, string? operand)
    {
        (string, Match?) best = ("?", null);
        var bestScore = -1;
        for (var i = 0; i < sentences.Count; i++)
        {
            var m = InstructionPattern().Match(sentences[i]);
            if (!m.Success || Symbol(m.Groups[1].Value) != symbol) continue;
            var candidate = m.Groups[3].Value;
            var score = operand is null ? 0 : candidate == operand ? 100 : Enumerable.Range(0, Math.Min(candidate.Length, operand.Length)).Count(j => candidate[j] == operand[j]);
            if (score <= bestScore) continue;
            best = ((i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), m);
            bestScore = score;
        }
        return best;
    }

    private static string Ordinal(int position) => position < 0 ? "?" : (position + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);

    private static readonly string[] PositionWords = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "eleventh", "twelfth"];

    private static int Apply(char op, int a, int b) => op switch { '+' => (a + b) % 10, '-' => ((a - b) % 10 + 10) % 10, _ => a * b % 10 };

    private static string Symbol(string verb) => verb switch { "add" or "Add" => "+", "subtract" or "Subtract" => "-", "multiply by" or "Multiply by" => "*", "divide by" or "Divide by" => "/", _ => "=" };

    private static string Pairs(string expected, string actual) =>
        string.Join(' ', Enumerable.Range(0, Math.Max(expected.Length, actual.Length)).Select(j => $"{At(expected, j)}{At(actual, j)}{Mark(At(expected, j), At(actual, j))}"));

    private static char Mark(char expected, char actual) => expected == actual && expected != '?' ? '=' : '!';

    private static char At(string text, int j) => j < text.Length ? text[j] : '_';

    private static int? Digit(char c) => char.IsAsciiDigit(c) ? c - '0' : null;

    private static int? Number(string text) => text.Length is > 0 and <= 2 && text.All(char.IsAsciiDigit) ? int.Parse(text, System.Globalization.CultureInfo.InvariantCulture) : null;

    [GeneratedRegex(@"^Start with (\d+)\.")]
    private static partial Regex StartPattern();

    [GeneratedRegex(@"^The answer is \\boxed\{(\d+)\}\.?$")]
    private static partial Regex AnswerPattern();

    /// <summary>An instruction line in any of the world's wordings: group 1 the verb, group 2 the operand, group 3 the position word of a set digit.</summary>
    [GeneratedRegex(@"^(?:Now )?(Add|add|Subtract|subtract|Multiply by|multiply by|Divide by|divide by|Set the|set the) (?:(\w+) digit to )?(\d+)\.$")]
    private static partial Regex InstructionPattern();
}
