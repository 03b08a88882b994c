using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using Instruction = StepWiser.ML.AnswerChecking.MathExpression.Instruction;

namespace StepWiser.ML.AnswerChecking;

/// <summary>
/// Recursive-descent parser for the LaTeX (and plain-text) expressions that answers are written in: numbers,
/// single-letter and Greek variables, <c>+ - * / ^</c>, <c>\cdot</c>, <c>\times</c>, <c>\div</c>, implicit
/// multiplication (<c>2x</c>, <c>2\sqrt{13}</c>, <c>(a+5)(b+2)</c>), <c>\frac</c> with braced or one-character
/// arguments (<c>\frac12</c>), <c>\sqrt[n]{}</c>, <c>\binom</c>, <c>!</c>, <c>\pi</c>, <c>i</c>, <c>\infty</c> and the
/// usual functions (<c>\sin^2 x</c>, <c>\log_2 8</c>). Words of three or more letters are not expressions.
/// Nesting is bounded by an explicit depth limit, and the output is postfix code, so neither parsing nor evaluation
/// can overflow the stack.
/// </summary>
internal sealed class MathExpressionParser
{
    private readonly string _text;
    private readonly int _maxDepth;
    private readonly ComparisonBudget _budget;
    private readonly Dictionary<string, int> _variables = new(StringComparer.Ordinal);
    private List<Instruction> _code = [];
    private bool _hasDecimal;
    private int _position;
    private int _depth;

    private MathExpressionParser(string text, int maxDepth, ComparisonBudget budget)
    {
        _text = text;
        _maxDepth = maxDepth;
        _budget = budget;
    }

    /// <summary>
    /// The compiled expression, or null when the text is not an expression this parser knows (a word, a relation, an
    /// unknown command). Throws <see cref="VerificationLimitException"/> past the depth limit or the time budget.
    /// </summary>
    public static MathExpression? TryParse(string text, int maxDepth, ComparisonBudget budget)
    {
        var parser = new MathExpressionParser(text, maxDepth, budget);
        try
        {
            parser.ParseExpression();
            parser.SkipSpace();
            if (parser._position != text.Length) return null;
        }
        catch (FormatException)
        {
            return null;
        }
        var names = new string[parser._variables.Count];
        foreach (var (name, index) in parser._variables) names[index] = name;
        return new MathExpression([.. parser._code], names, parser._hasDecimal);
    }

    private char Peek => At(_position);

    private char At(int index) => index < _text.Length ? _text[index] : '\0';

    private void SkipSpace()
    {
        while (_position < _text.Length && char.IsWhiteSpace(_text[_position])) _position++;
    }

    private void Enter()
    {
        _budget.Tick();
        if (++_depth > _maxDepth) throw new VerificationLimitException($"nesting deeper than {_maxDepth} levels");
        if (!RuntimeHelpers.TryEnsureSufficientExecutionStack()) throw new VerificationLimitException("nesting too deep for the stack");
    }

    private void Emit(MathOperation operation) => _code.Add(new Instruction(operation));

    private void ParseExpression()
    {
        ParseTerm();
        while (true)
        {
            SkipSpace();
            if (Peek is not ('+' or '-')) return;
            var op = Peek == '+' ? MathOperation.Add : MathOperation.Subtract;
            _position++;
            ParseTerm();
            Emit(op);
        }
    }

    private void ParseTerm()
    {
        ParseUnary();
        while (true)
        {
            SkipSpace();
            if (Peek == '*' && !Lookahead("**")) { _position++; ParseUnary(); Emit(MathOperation.Multiply); }
            else if (Peek == '/') { _position++; ParseUnary(); Emit(MathOperation.Divide); }
            else if (TryCommand("cdot") || TryCommand("times") || TryCommand("ast")) { ParseUnary(); Emit(MathOperation.Multiply); }
            else if (TryCommand("div")) { ParseUnary(); Emit(MathOperation.Divide); }
            else if (StartsFactor()) { ParsePower(); Emit(MathOperation.Multiply); }
            else return;
        }
    }

    private void ParseUnary()
    {
        SkipSpace();
        if (Peek is not ('-' or '+'))
        {
            ParsePower();
            return;
        }
        bool negate = Peek == '-';
        _position++;
        Enter();
        ParseUnary();
        _depth--;
        if (negate) Emit(MathOperation.Negate);
    }

    private void ParsePower()
    {
        ParseAtom();
        for (SkipSpace(); Peek == '!'; SkipSpace())
        {
            _position++;
            Emit(MathOperation.Factorial);
        }
        if (TryPowerOperator()) ParseExponent();
    }

    private bool TryPowerOperator()
    {
        SkipSpace();
        if (Peek == '^') { _position++; return true; }
        if (Lookahead("**")) { _position += 2; return true; }
        return false;
    }

    /// <summary>An exponent (braced group or one character, LaTeX style), right-associative, then the power.</summary>
    private void ParseExponent()
    {
        Enter();
        SkipSpace();
        bool negate = Peek == '-';
        if (Peek is '-' or '+') _position++;
        ParseArgument();
        if (negate) Emit(MathOperation.Negate);
        if (TryPowerOperator()) ParseExponent();
        Emit(MathOperation.Power);
        _depth--;
    }

    /// <summary>A macro argument: a braced or parenthesised group, one digit, one letter, or one command.</summary>
    private void ParseArgument()
    {
        SkipSpace();
        char c = Peek;
        if (c is '{' or '(' or '[' or '\\') ParseAtom();
        else if (char.IsAsciiDigit(c)) EmitNumber(_text.Substring(_position++, 1));
        else if (char.IsAsciiLetter(c)) { _position++; EmitLetter(c); }
        else throw new FormatException();
    }

    private bool StartsFactor()
    {
        char c = Peek;
        if (char.IsAsciiDigit(c) || char.IsAsciiLetter(c) || c is '(' or '[' or '{' or '.') return true;
        if (c != '\\') return false;
        string name = CommandAt(_position);
        return name is not ("cdot" or "times" or "ast" or "div" or "");
    }

    private void ParseAtom()
    {
        Enter();
        SkipSpace();
        char c = Peek;
        if (c is '(' or '[' or '{')
        {
            _position++;
            ParseExpression();
            Expect(c == '(' ? ')' : c == '[' ? ']' : '}');
        }
        else if (char.IsAsciiDigit(c) || (c == '.' && char.IsAsciiDigit(At(_position + 1))))
            ParseNumber();
        else if (char.IsAsciiLetter(c))
        {
            int end = _position;
            while (end < _text.Length && char.IsAsciiLetter(_text[end])) end++;
            string run = _text[_position..end];
            if (MathVocabulary.Functions.TryGetValue(run, out var function)) { _position = end; ParseFunction(function); }
            else if (run == "pi") { _position = end; Emit(MathOperation.Pi); }
            else if (run.Length > 2) throw new FormatException();
            else { _position++; EmitLetter(c); }
        }
        else if (c == '\\') ParseCommand();
        else throw new FormatException();
        _depth--;
    }

    private void ParseCommand()
    {
        string name = CommandAt(_position);
        if (name.Length == 0) throw new FormatException();
        _position += name.Length + 1;
        switch (name)
        {
            case "frac" or "binom": // the normaliser spells \dfrac, \tfrac, \cfrac as \frac and \dbinom, \tbinom as \binom
                ParseArgument();
                ParseArgument();
                Emit(name == "frac" ? MathOperation.Divide : MathOperation.Binomial);
                break;
            case "sqrt":
                SkipSpace();
                if (Peek != '[') { ParseFunction(MathOperation.Sqrt); break; }
                _position++;
                ParseExpression();
                Expect(']');
                ParseArgument();
                Emit(MathOperation.Root);
                break;
            case "pi":
                Emit(MathOperation.Pi);
                break;
            case "infty":
                Emit(MathOperation.Infinity);
                break;
            case "log" when Peek == '_':
                _position++;
                ParseArgument();
                ParseFunction(MathOperation.LogBase);
                break;
            default:
                if (MathVocabulary.Functions.TryGetValue(name, out var function)) ParseFunction(function);
                else if (MathVocabulary.Greek.Contains(name)) EmitVariable("\\" + name + Subscript());
                else throw new FormatException();
                break;
        }
    }

    /// <summary>A function application: optional power (<c>\sin^2 x</c> is the square of the sine), then the argument.</summary>
    private void ParseFunction(MathOperation function)
    {
        List<Instruction>? power = null;
        SkipSpace();
        if (Peek == '^')
        {
            _position++;
            var outer = _code;
            _code = [];
            ParseArgument();
            power = _code;
            _code = outer;
        }
        SkipSpace();
        if (Peek is '(' or '{' or '[' || function == MathOperation.Sqrt) ParseArgument();
        else
        {
            ParsePower();
            while (StartsFactor() && !(Peek == '\\' && MathVocabulary.Functions.ContainsKey(CommandAt(_position)))) { ParsePower(); Emit(MathOperation.Multiply); }
        }
        Emit(function);
        if (power is null) return;
        _code.AddRange(power);
        Emit(MathOperation.Power);
    }

    private void ParseNumber()
    {
        int start = _position;
        SkipDigits();
        if (Peek == '.' && char.IsAsciiDigit(At(_position + 1)))
        {
            _position++;
            SkipDigits();
            _hasDecimal = true;
        }
        int mark = _position + (At(_position + 1) is '+' or '-' ? 2 : 1);
        if (Peek is 'e' or 'E' && char.IsAsciiDigit(At(mark)))
        {
            _position = mark;
            SkipDigits();
            _hasDecimal = true;
        }
        EmitNumber(_text[start.._position]);
        Subscript(); // a base annotation such as 52_8 names the digits' base; the digits are the answer
    }

    private void SkipDigits()
    {
        while (char.IsAsciiDigit(Peek)) _position++;
    }

    private void EmitNumber(string literal)
    {
        double value = double.Parse(literal, NumberStyles.Float, CultureInfo.InvariantCulture);
        _code.Add(new Instruction(MathOperation.Number, new Complex(value, 0), Rational.ParseDecimal(literal)));
    }

    private void EmitLetter(char letter)
    {
        if (letter == 'i') Emit(MathOperation.ImaginaryUnit);
        else EmitVariable(letter + Subscript());
    }

    private void EmitVariable(string name)
    {
        if (!_variables.TryGetValue(name, out int index)) _variables[name] = index = _variables.Count;
        _code.Add(new Instruction(MathOperation.Variable, Variable: index));
    }

    /// <summary>Consumes <c>_x</c> or <c>_{...}</c> and returns it as text (empty when there is none).</summary>
    private string Subscript()
    {
        if (Peek != '_') return "";
        _position++;
        if (char.IsAsciiLetterOrDigit(Peek)) return "_" + _text[_position++];
        int close = Peek == '{' ? AnswerExtractor.MatchingBrace(_text, _position) : -1;
        if (close < 0) throw new FormatException();
        string content = string.Concat(_text[(_position + 1)..close].Where(ch => !char.IsWhiteSpace(ch)));
        _position = close + 1;
        return "_" + content;
    }

    private void Expect(char close)
    {
        SkipSpace();
        if (Peek != close) throw new FormatException();
        _position++;
    }

    private bool Lookahead(string token) => string.CompareOrdinal(_text, _position, token, 0, token.Length) == 0;

    private bool TryCommand(string name)
    {
        if (CommandAt(_position) != name) return false;
        _position += name.Length + 1;
        return true;
    }

    /// <summary>The letters of the command starting at <paramref name="at"/> (a backslash), or empty.</summary>
    private string CommandAt(int at)
    {
        if (at >= _text.Length || _text[at] != '\\') return "";
        int end = at + 1;
        while (end < _text.Length && char.IsAsciiLetter(_text[end])) end++;
        return _text[(at + 1)..end];
    }
}
