using System.Text.Json.Nodes;
using StepWiser.ML.Annotation;
using StepWiser.ML.Data;

namespace StepWiser.ML.Tests.Annotation;

/// <summary>The one JSONL reader and the annotation file format (issue 16: formats in the library, one reader).</summary>
[TestClass]
public sealed class AnnotationJsonlTests
{
    [TestMethod]
    public void JsonLinesSkipsBlankLinesAndNamesTheFileAndLineOfABadOne()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(path, ["{\"a\":1}", "", "  ", "{\"a\":2}", "{\"a\":"]);
            var error = Assert.ThrowsExactly<InvalidDataException>(() => JsonLines.Read(path, line => JsonNode.Parse(line)!["a"]!.GetValue<int>()));
            StringAssert.StartsWith(error.Message, $"{path}:5: ");
            File.WriteAllLines(path, ["{\"a\":1}", "", "{\"a\":2}"]);
            CollectionAssert.AreEqual(new[] { 1, 2 }, JsonLines.Read(path, line => JsonNode.Parse(line)!["a"]!.GetValue<int>()).ToArray());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestMethod]
    public void AnnotationFilesKeepTheInputsFieldsAndGiveNoLabelFromAMissingValue()
    {
        var dir = Directory.CreateTempSubdirectory("annotation-jsonl").FullName;
        try
        {
            var input = Path.Combine(dir, "in.jsonl");
            File.WriteAllLines(input,
            [
                "{\"id\": 7, \"prompt\": \"p1\", \"answer\": 3, \"chunks\": [\"a\", \"b\"]}",
                "{\"prompt\": \"p2\", \"answer\": \"4\", \"solution\": \"<chunk>x</chunk>\\n\\n<chunk>y</chunk>\"}",
                "{\"prompt\": \"p3\", \"answer\": \"5\", \"chunks\": [\"z\"]}",
            ]);
            var records = AnnotationJsonl.Read(input);
            Assert.AreEqual(3, records.Count);
            CollectionAssert.AreEqual(new[] { "x", "y" }, records[1].Input.Chunks.ToArray());
            Assert.AreEqual("3", records[0].Input.Answer);

            var output = Path.Combine(dir, "out.jsonl");
            AnnotationJsonl.Write(output, records, [new AnnotationResult(0.5f, [1f, 0f], 0), new AnnotationResult(0.5f, [float.NaN, 1f], 1), null]);
            var lines = File.ReadAllLines(output).Select(l => JsonNode.Parse(l)!.AsObject()).ToArray();
            Assert.AreEqual(2, lines.Length, "a record without a result is left out");
            Assert.AreEqual(7, lines[0]["id"]!.GetValue<int>(), "input fields are kept");
            Assert.AreEqual(2, lines[0]["labels_AbsoluteQ"]!.AsArray().Count);
            Assert.IsNull(lines[1]["values"]![0], "a missing value is null");
            Assert.IsNull(lines[1]["labels_AbsoluteQ"], "no labels for a solution with a missing value");
            Assert.AreEqual(1, lines[1]["failed_prefixes"]!.GetValue<int>());

            File.WriteAllLines(input, ["{\"prompt\": \"p\", \"answer\": 1}"]);
            var error = Assert.ThrowsExactly<InvalidDataException>(() => AnnotationJsonl.Read(input));
            StringAssert.Contains(error.Message, $"{input}:1: needs \"chunks\"");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
