// Prints meteor-1.5.jar's Snowball English stem of every line of standard input, as
// "word<TAB>stem" lines: the oracle for nightcap's SnowballEnglishStemmer (tools/make_meteor_goldens.py
// runs it; see tools/README.md). Run: java -cp meteor-1.5.jar tools/MeteorStems.java < words.txt
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import org.tartarus.snowball.ext.englishStemmer;

public class MeteorStems {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, "UTF-8"));
        PrintWriter out = new PrintWriter(new OutputStreamWriter(System.out, "UTF-8"));
        englishStemmer stemmer = new englishStemmer();
        String word;
        while ((word = in.readLine()) != null) {
            stemmer.setCurrent(word);
            stemmer.stem();
            out.println(word + "\t" + stemmer.getCurrent());
        }
        out.flush();
    }
}
