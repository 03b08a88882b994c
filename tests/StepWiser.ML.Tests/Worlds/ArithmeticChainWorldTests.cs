using Microsoft.ML;
using Microsoft.ML.Data;
using StepWiser.ML.Chunking;
using StepWiser.ML.AnswerChecking;
using StepWiser.ML.Worlds;

namespace StepWiser.ML.Tests.Worlds;

[TestClass]
public sealed class ArithmeticChainWorldTests
{
    private static readonly ArithmeticChainWorld World = new();

    [TestMethod]
    public void GenerationIsDeterministicPerSplitAndSeed()
    {
        var a = World.Generate("train", 50, 3);
        var b = World.Generate("train", 50, 3);
        CollectionAssert.AreEqual(a.Select(p => p.ChunkedSolution).ToArray(), b.Select(p => p.ChunkedSolution).ToArray());
        var other = World.Generate("test", 50, 3);
        Assert.IsLessThan(10, a.Select(p => p.Problem).Intersect(other.Select(p => p.Problem)).Count(), "splits are independent streams");
        var reseeded = World.Generate("train", 50, 4);
        Assert.IsLessThan(10, a.Select(p => p.Problem).Intersect(reseeded.Select(p => p.Problem)).Count());
    }

    [TestMethod]
    public void CanonicalSolutionsAreChunkedRawTracesWithTheRightAnswerAndPassTheChecker()
    {
        foreach (var d in new[] { 0.0, 0.5, 1.0 })
        {
            var world = new ArithmeticChainWorld(new ArithmeticChainOptions { Difficulty = d });
            foreach (var p in world.Generate("test", 200, 1))
            {
                Assert.AreEqual(p.RawSolution, ChunkParser.StripTags(p.ChunkedSolution), p.Id);
                CollectionAssert.AreEqual(p.Chunks.ToArray(), ChunkParser.ParseTags(p.ChunkedSolution).Chunks.ToArray(), p.Id);
                Assert.AreEqual(p.Values()[^1], p.Answer);
                Assert.IsTrue(p.Chunks.Count is >= 3 and <= 8, $"{p.Id}: {p.Chunks.Count} chunks");
                var check = ArithmeticChainWorld.Check(p, p.ChunkedSolution);
                Assert.AreEqual(-1, check.FirstErrorIndex, p.ChunkedSolution);
                Assert.IsTrue(check.IsCorrect && check.IsComplete);
                Assert.AreEqual(p.AnswerText, new MathAnswerVerifier().ExtractAnswer(p.ChunkedSolution));
                Assert.AreEqual(world.Options.Digits, p.AnswerText.Length, "a digit row keeps its leading zeros");
            }
        }
    }

    [TestMethod]
    public void DifficultyGrowsDigitsStepsAndMultiplicationsOverTheSameFactTables()
    {
        var easy = new ArithmeticChainOptions { Difficulty = 0 };
        var hard = new ArithmeticChainOptions { Difficulty = 1 };
        Assert.AreEqual(1, easy.Digits);
        Assert.AreEqual(2, new ArithmeticChainOptions().Digits);
        Assert.AreEqual(4, hard.Digits);
        Assert.AreEqual(easy.Modulus, hard.Modulus, "every difficulty uses the same digit tables");
        Assert.IsLessThan(hard.MaxOperations, easy.MaxOperations);
        Assert.IsLessThan(hard.MultiplyRate, easy.MultiplyRate);
        var easySteps = new ArithmeticChainWorld(easy).Generate("x", 300).Average(p => p.Chunks.Count);
        var hardSteps = new ArithmeticChainWorld(hard).Generate("x", 300).Average(p => p.Chunks.Count);
        Assert.IsLessThan(hardSteps - 2, easySteps);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ArithmeticChainOptions { Difficulty = 1.5 });
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ArithmeticChainOptions { DigitsOverride = 0 });
    }

    [TestMethod]
    public void OperationsActDigitByDigitWithoutCarries()
    {
        Assert.AreEqual(955, new ChainOperation('+', 426, 3).Apply(539, 10));
        Assert.AreEqual(763, new ChainOperation('+', 818, 3).Apply(955, 10), "9+8=7 and 5+1=6 and 5+8=3, no carries");
        Assert.AreEqual(192, new ChainOperation('-', 818, 3).Apply(900, 10));
        Assert.AreEqual(755, new ChainOperation('*', 3, 3).Apply(955, 10));
        Assert.AreEqual("012", ChainOperation.Render(12, 3));
        Assert.AreEqual("Add 046.", new ChainOperation('+', 46, 3).Instruction);
        Assert.AreEqual("Multiply by 7.", new ChainOperation('*', 7, 3).Instruction);
        Assert.AreEqual(3, new ChainOperation('+', 5, 1).Apply(7, 9), "one digit: plain modular arithmetic");
    }

    [TestMethod]
    public void AWrongValueFollowedByRightStepsNeverReachesTheRightAnswer()
    {
        // Every operation is invertible (multipliers prime to the modulus), so only a second mistake can undo a first:
        // Monte-Carlo rollouts from a wrong prefix then fail unless they err again, as the exact checker says.
        foreach (var d in new[] { 0.0, 0.5, 1.0 })
        {
            var world = new ArithmeticChainWorld(new ArithmeticChainOptions { Difficulty = d });
            foreach (var p in world.Generate("inv", 100, 3))
            {
                var values = p.Values();
                for (var k = 0; k < p.Operations.Count; k++)
                {
                    var wrong = values[k] == 0 ? 1 : values[k] - 1;   // another value with digits below the modulus
                    for (var j = k + 1; j < p.Operations.Count; j++) wrong = p.Operations[j].Apply(wrong, p.Modulus);
                    Assert.AreNotEqual(p.Answer, wrong, $"{p.Problem} (mistake at step {k})");
                }
            }
        }
    }

    [TestMethod]
    public void ModulusOverrideFixesTheModulusAndRejectsWhatCannotBeWritten()
    {
        var world = new ArithmeticChainWorld(new ArithmeticChainOptions { Difficulty = 1, ModulusOverride = 7 });
        foreach (var p in world.Generate("m7", 30, 1))
        {
            Assert.AreEqual(7, p.Modulus);
            StringAssert.EndsWith(p.Problem, "Work digit by digit modulo 7.");
            Assert.IsTrue(p.Problem[..p.Problem.IndexOf(" Work", StringComparison.Ordinal)].Split(' ').Where(t => t.Length > 1 && char.IsDigit(t[0])).All(t => t.TrimEnd('.').All(c => c < '7')), p.Problem);
            Assert.IsTrue(ArithmeticChainWorld.Check(p, p.ChunkedSolution).IsCorrect);
        }
        var single = new ArithmeticChainWorld(new ArithmeticChainOptions { ModulusOverride = 13, DigitsOverride = 1 }).Generate("m13", 30, 1);
        Assert.IsTrue(single.All(p => p.Problem.EndsWith("Work modulo 13.", StringComparison.Ordinal) && p.Answer < 13));
        Assert.AreEqual(10, new ArithmeticChainOptions { Difficulty = 1 }.Modulus);
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ArithmeticChainOptions { ModulusOverride = 1 });
        var e = Assert.ThrowsExactly<InvalidOperationException>(() => new ArithmeticChainWorld(new ArithmeticChainOptions { ModulusOverride = 13 }).Generate("bad", 1));
        StringAssert.Contains(e.Message, "modulus of at most 10");
    }

    [TestMethod]
    public void JudgeAnalysisWorksTheStepOutFromTheHistoryNotFromTheGoldChain()
    {
        const string problem = "Start with 7. Add 5. Multiply by 3. Subtract 4. Work modulo 9.";
        Assert.AreEqual("The step should add 5: 7+5=3.", WorldJudging.Analysis(problem, []));
        Assert.AreEqual("The step should multiply by 3: 3*3=0.", WorldJudging.Analysis(problem, ["7+5=3"]));
        // A wrong history value (4 instead of 3) is built on, as a reader of that history would.
        Assert.AreEqual("The step should multiply by 3: 4*3=3.", WorldJudging.Analysis(problem, ["Add 5.\n\n7+5=4"]));
        Assert.AreEqual("The step should state the final answer: 5.", WorldJudging.Analysis(problem, ["7+5=3", "3*3=0", "0-4=5"]));
        Assert.AreEqual("The step should multiply by 3.", WorldJudging.Analysis(problem, ["garbled"]), "no readable value: the goal only");
        const string digits = "Start with 539. Add 026. Multiply by 3. Work digit by digit modulo 10.";
        Assert.AreEqual("The step should add 026: 539+026=555.", WorldJudging.Analysis(digits, []));
        Assert.AreEqual("The step should multiply by 3: 555*3=555.", WorldJudging.Analysis(digits, ["539+026=555"]));
        Assert.AreEqual("The step should multiply by 3: 012*3=036.", WorldJudging.Analysis(digits, ["539+026=012"]));
        Assert.AreEqual("The step should state the final answer: 036.", WorldJudging.Analysis(digits, ["539+026=012", "012*3=036"]));
        // On the world's own canonical solutions the analysis always reproduces the canonical equation.
        foreach (var p in new ArithmeticChainWorld().Generate("analysis", 20, 1))
            for (var k = 0; k < p.Operations.Count; k++)
                StringAssert.EndsWith(WorldJudging.Analysis(p.Problem, p.Chunks.Take(k).ToArray()), p.Chunks[k].Split("\n\n")[^1] + ".");
    }

    [TestMethod]
    public void CheckerFindsTheFirstWrongChunk()
    {
        var p = new ArithmeticChainWorld(new ArithmeticChainOptions { Difficulty = 1 }).Generate("test", 40, 2).First(x => x.Operations.Count >= 4);
        var chunks = p.Chunks.ToList();
        var values = p.Values();

        // A wrong result in step 2, then steps that follow correctly from the wrong value: the first error is 2.
        var wrong = chunks.ToList();
        var prev = values[1];
        var bad = values[2] - values[2] % 10 + (values[2] % 10 + 1) % 10;   // last digit off by one
        wrong[2] = ArithmeticChainWorld.Equation(prev, p.Operations[2], bad);
        var v = bad;
        for (var k = 3; k < p.Operations.Count; k++)
        {
            var next = p.Operations[k].Apply(v, p.Modulus);
            wrong[k] = ArithmeticChainWorld.Equation(v, p.Operations[k], next);
            v = next;
        }
        wrong[^1] = $"The answer is \\boxed{{{ChainOperation.Render(v, p.Digits)}}}.";
        var check = ArithmeticChainWorld.Check(p, ChunkParser.Wrap(wrong));
        Assert.AreEqual(2, check.FirstErrorIndex);
        Assert.IsFalse(check.ChunkIsCorrect[3], "a step built on a wrong value is not a correct next step");
        Assert.IsTrue(check.IsComplete);

        // Wrong operand copied from the problem; an explanation naming another operation; a premature answer; an extra chunk.
        var copy = chunks.ToList();
        var op0 = p.Operations[0];
        copy[0] = ArithmeticChainWorld.Equation(p.Start, op0 with { Operand = op0.Operand == 1 ? 3 : op0.Operand - 1 }, op0.Apply(p.Start, p.Modulus));
        Assert.AreEqual(0, ArithmeticChainWorld.Check(p, copy).FirstErrorIndex);
        var unpadded = chunks.ToList();   // the right value without its leading zeros is a wrong step (the world writes every digit)
        unpadded[0] = ArithmeticChainWorld.Equation(p.Start, op0, op0.Apply(p.Start, p.Modulus)).Replace("=0", "=", StringComparison.Ordinal);
        if (unpadded[0] != ArithmeticChainWorld.Equation(p.Start, op0, op0.Apply(p.Start, p.Modulus))) Assert.AreEqual(0, ArithmeticChainWorld.Check(p, unpadded).FirstErrorIndex);
        var explanation = chunks.ToList();
        explanation[1] = "Add 99.\n\n" + chunks[1].Split("\n\n")[^1];
        Assert.AreEqual(p.Operations[1].Operator == '+' && p.Operations[1].Operand == 99 ? -1 : 1, ArithmeticChainWorld.Check(p, explanation).FirstErrorIndex);
        var premature = chunks.Take(2).Append($"The answer is \\boxed{{{ChainOperation.Render(values[1], p.Digits)}}}.").ToList();
        Assert.AreEqual(2, ArithmeticChainWorld.Check(p, premature).FirstErrorIndex);
        var extra = chunks.Append("1+1=2").ToList();
        Assert.AreEqual(chunks.Count, ArithmeticChainWorld.Check(p, extra).FirstErrorIndex);
        var truncated = ArithmeticChainWorld.Check(p, chunks.Take(2).ToList());
        Assert.AreEqual(-1, truncated.FirstErrorIndex);
        Assert.IsFalse(truncated.IsComplete || truncated.IsCorrect);
        var shortAnswer = chunks.Take(chunks.Count - 1).Append($"The answer is \\boxed{{{p.Answer}}}.").ToList();
        if (p.AnswerText != p.Answer.ToString(System.Globalization.CultureInfo.InvariantCulture))
            Assert.IsFalse(ArithmeticChainWorld.Check(p, shortAnswer).IsCorrect, "an answer without its leading zeros is not the answer");
    }

    [TestMethod]
    public void ProblemsAreAvailableAsAnIDataViewAndAsJsonl()
    {
        var problems = World.Generate("test", 25, 9);
        var view = ArithmeticChainWorld.ToDataView(new MLContext(), problems);
        CollectionAssert.AreEqual(problems.Select(p => p.Prompt).ToArray(), view.GetColumn<string>("Prompt").ToArray());
        CollectionAssert.AreEqual(problems.Select(p => p.Chunks.Count).ToArray(), view.GetColumn<int>("StepCount").ToArray());

        var path = Path.Combine(Path.GetTempPath(), $"world-{Guid.NewGuid():N}.jsonl");
        try
        {
            ArithmeticChainWorld.WriteJsonl(path, problems);
            var back = ArithmeticChainWorld.ReadJsonl(path);
            Assert.HasCount(problems.Count, back);
            for (var i = 0; i < problems.Count; i++)
            {
                Assert.AreEqual(problems[i].ChunkedSolution, back[i].ChunkedSolution);
                Assert.AreEqual(-1, ArithmeticChainWorld.Check(back[i], back[i].ChunkedSolution).FirstErrorIndex);
            }
            File.AppendAllText(path, "{\"Id\": 3\n");
            var e = Assert.ThrowsExactly<InvalidDataException>(() => ArithmeticChainWorld.ReadJsonl(path));
            StringAssert.Contains(e.Message, $":{problems.Count + 1}:");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestMethod]
    public void ThePolicyRecipeCanTrainOnAMixtureOfDifficulties()
    {
        var single = WorldPolicy.TrainingProblems(World, new WorldPolicyOptions { TrainProblems = 100 });
        Assert.IsTrue(single.All(p => p.Digits == World.Options.Digits));
        var mixed = WorldPolicy.TrainingProblems(World, new WorldPolicyOptions { TrainProblems = 100, TrainingDifficulties = [0, 0.5, 1] });
        CollectionAssert.AreEquivalent(new[] { 1, 2, 4 }, mixed.Select(p => p.Digits).Distinct().ToArray());
        Assert.HasCount(102, mixed);
    }
}
