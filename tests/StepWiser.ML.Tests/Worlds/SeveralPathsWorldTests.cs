using StepWiser.ML.Chunking;
using StepWiser.ML.Judging;
using StepWiser.ML.Worlds;

namespace StepWiser.ML.Tests.Worlds;

[TestClass]
public sealed class SeveralPathsWorldTests
{
    private static readonly ArithmeticChainWorld World = new(ArithmeticChainOptions.SeveralPaths());

    private static WorldProblem Problem(long start, params ChainOperation[] operations)
    {
        var value = start;
        foreach (var op in operations) value = op.Apply(value, 10);
        return new WorldProblem("t", start, 10, operations, "", value, "", "", [], Digits: 2, AnyOrder: true);
    }

    [TestMethod]
    public void DivisionIsTheInverseOfMultiplicationDigitByDigitAndASetDigitErasesIt()
    {
        var divide = new ChainOperation('/', 7, 2);
        Assert.AreEqual(42, divide.Apply(84, 10), "7·4 = 28 → 8 and 7·2 = 14 → 4");
        Assert.AreEqual(84, new ChainOperation('*', 7, 2).Apply(42, 10));
        Assert.AreEqual("84/7=42", divide.Equation(84, 42));
        Assert.AreEqual("Divide by 7.", divide.Instruction);
        var set = new ChainOperation('=', 4, 2, Position: 0);
        Assert.AreEqual(42, set.Apply(72, 10));
        Assert.AreEqual(42, set.Apply(92, 10), "the first digit's earlier value no longer matters");
        Assert.AreEqual("Set the first digit to 4.", set.Instruction);
        Assert.AreEqual("72->42", set.Equation(72, 42));
        Assert.AreEqual(71, new ChainOperation('=', 1, 2, Position: 1).Apply(72, 10));
    }

    [TestMethod]
    public void CanonicalSolutionsPassTheCheckerAndTakeSeveralPaths()
    {
        var problems = World.Generate("test", 400, 1);
        foreach (var p in problems)
        {
            var check = ArithmeticChainWorld.Check(p, p.ChunkedSolution);
            Assert.AreEqual(-1, check.FirstErrorIndex, p.ChunkedSolution);
            Assert.IsTrue(check.IsCorrect && check.IsComplete);
            CollectionAssert.AreEqual(p.Chunks.ToArray(), ChunkParser.ParseTags(p.ChunkedSolution).Chunks.ToArray());
        }
        var ops = problems.SelectMany(p => p.Operations).ToArray();
        Assert.IsGreaterThan(0.05, ops.Count(o => o.Operator == '/') / (double)ops.Length, "divisions occur");
        var setShare = problems.Count(p => p.Operations.Any(o => o.Operator == '=')) / (double)problems.Count;
        Assert.AreEqual(World.Options.OverwriteRate, setShare, 0.07, "the share of problems that set a digit");
        var divisions = problems.SelectMany(p => p.Chunks).Where(c => c.Contains('/', StringComparison.Ordinal)).ToArray();
        var checkedDivisions = divisions.Count(c => c.Contains("\n\nCheck: ", StringComparison.Ordinal));
        Assert.IsTrue(checkedDivisions > divisions.Length / 4 && checkedDivisions < divisions.Length * 3 / 4, $"{checkedDivisions} of {divisions.Length} division steps check themselves");
        // Some canonical solutions take a multiplicative run in another order than the problem states it.
        Assert.IsGreaterThan(0, problems.Count(p => !InProblemOrder(p).SequenceEqual(p.Chunks.Take(p.Operations.Count).Select(c => c.Split("\n\n")[^1]))));
        var again = new ArithmeticChainWorld(ArithmeticChainOptions.SeveralPaths());
        Assert.AreEqual(problems[3].ChunkedSolution, again.Generate("test", 400, 1)[3].ChunkedSolution, "deterministic under a seed");
    }

    private static IEnumerable<string> InProblemOrder(WorldProblem p)
    {
        var value = p.Start;
        foreach (var op in p.Operations)
        {
            var next = op.Apply(value, p.Modulus);
            yield return op.Equation(value, next);
            value = next;
        }
    }

    [TestMethod]
    public void TheCheckerAcceptsEveryOrderOfACommutingRunAndNothingElse()
    {
        ChainOperation times3 = new('*', 3, 2), by7 = new('/', 7, 2), plus05 = new('+', 5, 2);
        var p = Problem(47, times3, by7, plus05);
        string Step(ChainOperation op, long from, string now = "") => (now.Length == 0 ? op.Instruction : now + char.ToLowerInvariant(op.Instruction[0]) + op.Instruction[1..]) + "\n\n" + op.Equation(from, op.Apply(from, 10));
        var answer = $"The answer is \\boxed{{{ChainOperation.Render(p.Answer, 2)}}}.";
        var a = times3.Apply(47, 10);
        var inOrder = new[] { Step(times3, 47), Step(by7, a), Step(plus05, by7.Apply(a, 10)), answer };
        Assert.AreEqual(-1, ArithmeticChainWorld.Check(p, inOrder).FirstErrorIndex);
        var b = by7.Apply(47, 10);
        var swapped = new[] { Step(by7, 47) + $"\n\nCheck: {ChainOperation.Render(b, 2)}*7=47.", Step(times3, b, "Now "), Step(plus05, times3.Apply(b, 10)), answer };
        Assert.AreEqual(times3.Apply(b, 10), by7.Apply(a, 10), "the run commutes");
        Assert.AreEqual(-1, ArithmeticChainWorld.Check(p, swapped).FirstErrorIndex, string.Join(" | ", swapped));
        // The addition does not commute with the multiplications: taking it first is wrong.
        var additionFirst = new[] { Step(plus05, 47), Step(times3, plus05.Apply(47, 10)), Step(by7, times3.Apply(plus05.Apply(47, 10), 10)), answer };
        Assert.AreEqual(0, ArithmeticChainWorld.Check(p, additionFirst).FirstErrorIndex);
        // A wrong check line makes a division wrong; doing one multiplication twice is wrong, and so is a wrong digit.
        Assert.AreEqual(0, ArithmeticChainWorld.Check(p, [Step(by7, 47) + "\n\nCheck: 11*7=47.", swapped[1], swapped[2], answer]).FirstErrorIndex);
        Assert.AreEqual(1, ArithmeticChainWorld.Check(p, [Step(times3, 47), Step(times3, a), Step(plus05, times3.Apply(a, 10)), answer]).FirstErrorIndex);
        Assert.AreEqual(1, ArithmeticChainWorld.Check(p, [inOrder[0], inOrder[1][..^1] + "9", inOrder[2], answer]).FirstErrorIndex);
    }

    [TestMethod]
    public void WithoutAnyOrderTheProblemOrderIsTheOnlyRightOne()
    {
        ChainOperation times3 = new('*', 3, 2), by7 = new('/', 7, 2);
        var p = Problem(47, times3, by7) with { AnyOrder = false };
        var b = by7.Apply(47, 10);
        var swapped = new[] { by7.Instruction + "\n\n" + by7.Equation(47, b), times3.Instruction + "\n\n" + times3.Equation(b, times3.Apply(b, 10)), $"The answer is \\boxed{{{ChainOperation.Render(p.Answer, 2)}}}." };
        Assert.AreEqual(0, ArithmeticChainWorld.Check(p, swapped).FirstErrorIndex);
    }

    [TestMethod]
    public void TheVerificationAnalysisRecomputesEachStepWithForwardFactsAndMarksEveryDigit()
    {
        var problem = "Start with 47. Multiply by 3. Divide by 7. Add 05. Set the second digit to 1. Work digit by digit modulo 10.";
        string Analysis(string chunk, params string[] history) => StepVerification.Analysis(new JudgeInput(problem, history, chunk));
        Assert.AreEqual("47*3=21 22= 11=", Analysis("Multiply by 3.\n\n47*3=21"));
        Assert.AreEqual("47*3=21 22= 19!", Analysis("Multiply by 3.\n\n47*3=29"));
        // A division is multiplied back: 63·7 gives 21 digit by digit (6·7 = 42 → 2, 3·7 = 21 → 1), the input.
        Assert.AreEqual("63*7=21 22= 11=", Analysis("Now divide by 7.\n\n21/7=63", "Multiply by 3.\n\n47*3=21"));
        Assert.AreEqual("64*7=28 22= 81!", Analysis("Now divide by 7.\n\n21/7=64", "Multiply by 3.\n\n47*3=21"));
        Assert.AreEqual("63*7=21 22= 11= chk 66= 33= 77= 22= 11=", Analysis("Divide by 7.\n\n21/7=63\n\nCheck: 63*7=21.", "Multiply by 3.\n\n47*3=21"), "a check line is not the equation, and it is checked");
        Assert.AreEqual("63*7=21 22= 11= chk 66= 33= 77= 22= 19!", Analysis("Divide by 7.\n\n21/7=63\n\nCheck: 63*7=29.", "Multiply by 3.\n\n47*3=21"));
        // Doing an operation more often than the problem states it.
        Assert.AreEqual("again! 21*3=63 66= 33=", Analysis("Multiply by 3.\n\n21*3=63", "Multiply by 3.\n\n47*3=21"));
        Assert.AreEqual("63+05=68 66= 88=", Analysis("Add 05.\n\n63+05=68", "Divide by 7.\n\n21/7=63\n\nCheck: 63*7=21."));
        // A set digit: the digits it keeps and the one its instruction line sets.
        Assert.AreEqual("set 66= 11=", Analysis("Set the second digit to 1.\n\n68->61", "x\n\n63+05=68"));
        Assert.AreEqual("set 66= 18!", Analysis("Set the second digit to 1.\n\n68->68", "x\n\n63+05=68"));
        Assert.AreEqual("set 16! 81!", Analysis("Set the first digit to 1.\n\n68->61", "x\n\n63+05=68"));
        // The answer step repeats the value the history ends with.
        Assert.AreEqual("in 66= 11=", Analysis("The answer is \\boxed{61}.", "x\n\n68->61"));
        Assert.AreEqual("in 66= 17!", Analysis("The answer is \\boxed{67}.", "x\n\n68->61"));
        Assert.AreEqual("unreadable", Analysis("I think it is 5."));
    }
}
