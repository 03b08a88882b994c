using System.Reflection;
using System.Text;

namespace StepWiser.ML.Tests.Architecture;

/// <summary>
/// The public surface of an assembly as stable text: one line per public type (kind, modifiers, full name, base types)
/// and one indented line per public or protected member, sorted, with C#-like type names. The approved file
/// (<c>PublicApi/StepWiser.ML.approved.txt</c>) is this text; a change to the library's surface shows as a diff of it.
/// </summary>
internal static class PublicApi
{
    private const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    public static string Describe(Assembly assembly)
    {
        var text = new StringBuilder();
        foreach (var type in assembly.GetExportedTypes().OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            text.Append(TypeLine(type)).Append('\n');
            foreach (var member in Members(type).Order(StringComparer.Ordinal)) text.Append("  ").Append(member).Append('\n');
        }
        return text.ToString();
    }

    private static string TypeLine(Type type)
    {
        var kind = type.IsEnum ? "enum" : type.IsInterface ? "interface" : type.IsValueType ? "struct" : IsRecord(type) ? "record" : "class";
        var modifiers = type.IsInterface || type.IsValueType ? "" : type.IsAbstract && type.IsSealed ? "static " : type.IsAbstract ? "abstract " : type.IsSealed && !type.IsEnum ? "sealed " : "";
        var bases = new List<string>();
        if (type.BaseType is { } b && b != typeof(object) && b != typeof(ValueType) && b != typeof(Enum)) bases.Add(Name(b));
        if (!type.IsEnum) bases.AddRange(type.GetInterfaces().Where(i => i.IsPublic || i.IsNestedPublic).Where(i => !IsRecord(type) || i.Name != "IEquatable`1").Select(Name).Order(StringComparer.Ordinal));
        return $"{modifiers}{kind} {Name(type, full: true)}{(bases.Count > 0 ? " : " + string.Join(", ", bases) : "")}";
    }

    private static IEnumerable<string> Members(Type type)
    {
        if (type.IsEnum)
        {
            foreach (var name in Enum.GetNames(type)) yield return name;
            yield break;
        }
        foreach (var member in type.GetMembers(Declared))
        {
            switch (member)
            {
                case ConstructorInfo c when Visible(c) && !(IsRecord(type) && IsCopyConstructor(c)):
                    yield return $"ctor({Parameters(c)})";
                    break;
                case MethodInfo m when Visible(m) && !m.IsSpecialName && !IsCompilerGenerated(type, m):
                    yield return $"{(m.IsStatic ? "static " : "")}{(m.IsAbstract && !type.IsInterface ? "abstract " : "")}method {Name(m.ReturnType)} {m.Name}{Generic(m)}({Parameters(m)})";
                    break;
                case PropertyInfo p when IsVisible(p):
                    var accessors = (p.GetMethod is { } get && Visible(get) ? "get; " : "") + (p.SetMethod is { } set && Visible(set) ? (IsInit(set) ? "init; " : "set; ") : "");
                    var indexer = p.GetIndexParameters() is { Length: > 0 } ix ? "[" + string.Join(", ", ix.Select(x => Name(x.ParameterType))) + "]" : "";
                    yield return $"{((p.GetMethod ?? p.SetMethod)!.IsStatic ? "static " : "")}property {Name(p.PropertyType)} {p.Name}{indexer} {{ {accessors}}}";
                    break;
                case FieldInfo f when IsVisible(f):
                    yield return $"{(f.IsLiteral ? "const " : f.IsStatic ? "static " : "")}{(f.IsInitOnly ? "readonly " : "")}field {Name(f.FieldType)} {f.Name}";
                    break;
                case EventInfo e when IsVisible(e):
                    yield return $"event {Name(e.EventHandlerType!)} {e.Name}";
                    break;
                case Type nested when nested.IsNestedPublic:
                    yield return $"nested {TypeLine(nested)}";
                    break;
            }
        }
    }

    private static bool Visible(MethodBase m) => m.IsPublic || m.IsFamily || m.IsFamilyOrAssembly;

    /// <summary>Whether a member is part of the public surface (public or protected; a property or event by its accessors).</summary>
    internal static bool IsVisible(MemberInfo member) => member switch
    {
        MethodBase m => Visible(m),
        PropertyInfo p => (p.GetMethod is { } g && Visible(g)) || (p.SetMethod is { } s && Visible(s)),
        FieldInfo f => f.IsPublic || f.IsFamily || f.IsFamilyOrAssembly,
        EventInfo e => e.AddMethod is { } add && Visible(add),
        _ => false,
    };

    internal static bool IsRecord(Type type) => type.GetMethod("<Clone>$", BindingFlags.Public | BindingFlags.Instance) is not null
        || (type.IsValueType && type.GetMethod("PrintMembers", BindingFlags.NonPublic | BindingFlags.Instance) is not null);

    private static bool IsCopyConstructor(ConstructorInfo c) => c.GetParameters() is [var p] && p.ParameterType == c.DeclaringType;

    // Members a record declares for itself: equality, printing, cloning, deconstruction.
    private static bool IsCompilerGenerated(Type type, MethodInfo m) => IsRecord(type) && m.Name is "Equals" or "GetHashCode" or "ToString" or "PrintMembers" or "<Clone>$" or "Deconstruct";

    private static bool IsInit(MethodInfo setter) => setter.ReturnParameter.GetRequiredCustomModifiers().Any(t => t.FullName == "System.Runtime.CompilerServices.IsExternalInit");

    private static string Generic(MethodInfo m) => m.IsGenericMethodDefinition ? "<" + string.Join(", ", m.GetGenericArguments().Select(a => a.Name)) + ">" : "";

    private static string Parameters(MethodBase m) => string.Join(", ", m.GetParameters().Select(p =>
        (p.IsOut ? "out " : p.ParameterType.IsByRef ? "ref " : p.GetCustomAttributes(typeof(ParamArrayAttribute), false).Length > 0 ? "params " : "")
        + Name(p.ParameterType) + " " + p.Name + (p.HasDefaultValue ? " = " + (p.DefaultValue is null && p.ParameterType.IsValueType && Nullable.GetUnderlyingType(p.ParameterType) is null ? "default" : Literal(p.DefaultValue)) : "")));

    private static string Literal(object? value) => value switch
    {
        null => "null",
        string s => "\"" + s + "\"",
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    private static readonly Dictionary<Type, string> Keywords = new()
    {
        [typeof(void)] = "void", [typeof(bool)] = "bool", [typeof(byte)] = "byte", [typeof(char)] = "char", [typeof(short)] = "short", [typeof(int)] = "int",
        [typeof(long)] = "long", [typeof(float)] = "float", [typeof(double)] = "double", [typeof(decimal)] = "decimal", [typeof(string)] = "string",
        [typeof(object)] = "object", [typeof(uint)] = "uint", [typeof(ulong)] = "ulong", [typeof(ushort)] = "ushort", [typeof(sbyte)] = "sbyte",
    };

    private static string Name(Type type) => Name(type, full: false);

    private static string Name(Type type, bool full)
    {
        if (type.IsByRef) return Name(type.GetElementType()!, full);
        if (type.IsArray) return Name(type.GetElementType()!, full) + "[" + new string(',', type.GetArrayRank() - 1) + "]";
        if (type.IsGenericParameter) return type.Name;
        if (Nullable.GetUnderlyingType(type) is { } inner) return Name(inner, full) + "?";
        if (Keywords.TryGetValue(type, out var keyword)) return keyword;
        var name = type.Name;
        var tick = name.IndexOf('`');
        if (tick >= 0) name = name[..tick];
        if (type.IsNested) name = Name(type.DeclaringType!, full) + "." + name;
        else if (full && type.Namespace is { } ns) name = ns + "." + name;
        if (type.IsGenericType)
        {
            var args = type.GetGenericArguments();
            var own = type.IsNested ? args.Skip(type.DeclaringType!.GetGenericArguments().Length) : args;
            if (own.Any()) name += "<" + string.Join(", ", own.Select(a => Name(a, false))) + ">";
        }
        return name;
    }
}
